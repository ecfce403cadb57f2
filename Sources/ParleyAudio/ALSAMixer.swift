import CALSA

/// The card's hardware volume controls (`amixer` simple elements), used from the control
/// plane only. Speaker volume goes to the playback control as a percentage of its range;
/// mic gain goes to the capture control in dB when the control knows dB, and what it
/// cannot reach stays in software.
final class ALSAMixer {
    private let handle: OpaquePointer
    private let card: String
    private let playback: OpaquePointer?
    private let capture: OpaquePointer?
    /// Problems worth one log line (a control missing, one without dB).
    private(set) var notes: [String] = []

    init(card: String, playbackControl: String?, captureControl: String?) throws(AudioError) {
        self.card = card
        var mixer: OpaquePointer?
        var err = snd_mixer_open(&mixer, 0)
        guard err >= 0, let mixer else { throw AudioError(.mixer, device: card, alsa: err, "cannot open mixer") }
        handle = mixer
        err = snd_mixer_attach(mixer, card)
        if err >= 0 { err = snd_mixer_selem_register(mixer, nil, nil) }
        if err >= 0 { err = snd_mixer_load(mixer) }
        guard err >= 0 else {
            snd_mixer_close(mixer)
            throw AudioError(.mixer, device: card, alsa: err, "cannot open mixer")
        }
        var found: [String] = []
        var elem = snd_mixer_first_elem(mixer)
        while let e = elem {
            found.append(String(cString: snd_mixer_selem_get_name(e)))
            elem = snd_mixer_elem_next(e)
        }
        func find(_ name: String?, has: (OpaquePointer) -> Bool, kind: String) throws(AudioError) -> OpaquePointer? {
            guard let name, !name.isEmpty else { return nil }
            var id: OpaquePointer?
            snd_mixer_selem_id_malloc(&id)
            defer { snd_mixer_selem_id_free(id) }
            snd_mixer_selem_id_set_name(id, name)
            guard let e = snd_mixer_find_selem(mixer, id), has(e) else {
                snd_mixer_close(mixer)
                throw AudioError(.mixer, device: card,
                                 "no \(kind) mixer control \"\(name)\" (controls: \(found.joined(separator: ", ")))")
            }
            return e
        }
        playback = try find(playbackControl, has: { snd_mixer_selem_has_playback_volume($0) != 0 }, kind: "playback")
        capture = try find(captureControl, has: { snd_mixer_selem_has_capture_volume($0) != 0 }, kind: "capture")
        if let capture {
            var low = 0, high = 0
            if snd_mixer_selem_get_capture_dB_range(capture, &low, &high) < 0 || low >= high {
                notes.append("capture control \"\(captureControl!)\" on \(card) has no dB scale: mic gain stays in software")
            }
        }
    }

    deinit { snd_mixer_close(handle) }

    var controlsPlayback: Bool { playback != nil }

    /// Sets the playback control to `percent` of its range.
    func setVolume(percent: Int) throws(AudioError) {
        guard let playback else { return }
        var low = 0, high = 0
        snd_mixer_selem_get_playback_volume_range(playback, &low, &high)
        let value = low + (high - low) * max(0, min(100, percent)) / 100
        let err = snd_mixer_selem_set_playback_volume_all(playback, value)
        guard err >= 0 else { throw AudioError(.mixer, device: card, alsa: err, "cannot set playback volume") }
    }

    /// Sets the capture control as near `decibels` as its range allows; returns the part
    /// left for software gain.
    func setMicGain(decibels: Double) throws(AudioError) -> Double {
        guard let capture else { return decibels }
        var low = 0, high = 0  // hundredths of a dB
        guard snd_mixer_selem_get_capture_dB_range(capture, &low, &high) >= 0, low < high else { return decibels }
        let wanted = Int((decibels * 100).rounded())
        let value = max(low, min(high, wanted))
        let err = snd_mixer_selem_set_capture_dB_all(capture, value, 0)
        guard err >= 0 else { throw AudioError(.mixer, device: card, alsa: err, "cannot set capture gain") }
        var actual = 0
        snd_mixer_selem_get_capture_dB(capture, SND_MIXER_SCHN_MONO, &actual)
        return decibels - Double(actual) / 100
    }
}
