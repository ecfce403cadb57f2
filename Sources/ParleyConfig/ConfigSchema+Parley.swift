/// Every key parleyd understands. docs/CONFIG.md's reference is generated from this
/// table (`parleyd config-reference`) and a test keeps the two equal.
extension ConfigSchema {
    /// The word lists of enum-valued keys come from the Swift enums the settings are read into,
    /// so a word the schema accepts always has a case to become.
    public static let backendKinds = words(BackendSettings.Kind.self)

    static func words<T: CaseIterable & RawRepresentable>(_: T.Type) -> [String] where T.RawValue == String {
        T.allCases.map(\.rawValue)
    }

    static let defaultInstructions = "You are a concise voice assistant for a field technician. Answer briefly."

    public static let parley = ConfigSchema(
        keys: device + audio + dsp + backend + speech + tools + ptt + board + transcripts + control + logging + metrics
            + provisioning,
        backendRequirements: [
            "openai": [["backend.openai.api_key_file", "backend.openai.api_key_credential"]],
            "openai_webrtc": [["backend.openai.api_key_file", "backend.openai.api_key_credential"]],
            "agent_routes": [["backend.agent_routes.base_url"], ["backend.agent_routes.user_id"]],
            "rt_relay": [["backend.rt_relay.base_url"]],
            "office": [["backend.office.base_url"]],
            "training": [["backend.training.base_url"],
                         ["backend.training.token_file", "backend.training.token_credential"]],
            "agent_c": [["backend.agent_c.url"],
                        ["backend.agent_c.token_file", "backend.agent_c.token_credential"]],
        ]
    )

    static let device: [ConfigKey] = [
        ConfigKey("device.id", .string, default: nil, example: "\"van-0412\"",
                  "Device identity in logs, tool calls and relays. Default: /etc/machine-id."),
        ConfigKey("device.fleet", .string, default: .string(""), example: "\"north-region\"",
                  "Fleet name, passed to tools as context."),
        ConfigKey("device.site", .string, default: .string(""), example: "\"depot-7\"",
                  "Site or depot, passed to tools as context."),
        ConfigKey("device.technician_id", .string, default: .string(""), example: "\"T-1184\"",
                  "Technician id, passed to tools and relays as context."),
        ConfigKey("device.technician_name", .string, default: .string(""), example: "\"Dana Reyes\"",
                  "Technician name, given to the assistant as context."),
    ]

    static let audio: [ConfigKey] = [
        ConfigKey("audio.capture_device", .string, default: .string("default"), example: "\"plughw:CARD=parley\"",
                  "ALSA PCM to capture from: hw:CARD=…, plughw:…, default or a plugin PCM."),
        ConfigKey("audio.playback_device", .string, default: .string("default"), example: "\"plughw:CARD=parley\"",
                  "ALSA PCM to play to."),
        ConfigKey("audio.rate", .int(8000...192_000), default: .int(48000), example: "16000",
                  "Device sample rate in Hz (48000 typical; 16000 and 44100 supported). Resampled to 24 kHz."),
        ConfigKey("audio.capture_channels", .int(1...8), default: .int(1), example: "2",
                  "Channels the capture device delivers."),
        ConfigKey("audio.mic_channel", .int(0...7), default: .int(0), example: "1",
                  "Which capture channel is the microphone (0-based)."),
        ConfigKey("audio.mic_mix", .bool, default: .bool(false), example: "true",
                  "Average all capture channels instead of picking audio.mic_channel."),
        ConfigKey("audio.playback_channels", .int(1...8), default: .int(1), example: "2",
                  "Channels the playback device takes; mono output is copied to each."),
        ConfigKey("audio.period_ms", .int(5...40), default: .int(10), example: "10",
                  "ALSA period and DSP frame length in milliseconds."),
        ConfigKey("audio.buffer_periods", .int(2...32), default: .int(4), example: "6",
                  "ALSA buffer size in periods."),
        ConfigKey("audio.pacing", .choice(words(AudioSettings.Pacing.self)), default: .string("device"), example: "\"clock\"",
                  "device: the ALSA device paces the audio threads. clock: they pace themselves, for plugin PCMs with no clock (file, null)."),
        ConfigKey("audio.realtime_priority", .int(0...99), default: .int(70), example: "80",
                  "SCHED_FIFO priority of the audio threads; 0 runs them at normal priority."),
        ConfigKey("audio.lock_memory", .bool, default: .bool(false), example: "true",
                  "Locks pages in memory as they are touched (mlockall, MCL_ONFAULT) so audio never waits on a page fault; needs LimitMEMLOCK=infinity (the packaged unit's) or CAP_IPC_LOCK, else one warning and it runs unlocked."),
        ConfigKey("audio.preroll_ms", .int(0...1000), default: .int(200), example: "300",
                  "Processed audio kept from before the button went down."),
        ConfigKey("audio.jitter_ms", .int(0...500), default: .int(60), example: "80",
                  "Assistant audio buffered before playback starts."),
        ConfigKey("audio.volume", .int(0...100), default: .int(80), reload: .live, example: "65",
                  "Speaker volume in percent: set on audio.playback_mixer_control when one is named (software gain stays at unity), else applied as software gain."),
        ConfigKey("audio.mic_gain_db", .double(-20...40), default: .double(0), reload: .live, example: "6.0",
                  "Microphone gain in dB: on audio.capture_mixer_control as far as its dB range reaches, the rest as software gain."),
        ConfigKey("audio.mixer_card", .string, default: .string("default"), example: "\"hw:CARD=parley\"",
                  "ALSA mixer device (card) for the controls below."),
        ConfigKey("audio.playback_mixer_control", .string, default: .string(""), example: "\"Speaker\"",
                  "Playback mixer control (amixer name) set to audio.volume percent of its range; empty: software gain only. A missing control is logged with the controls found."),
        ConfigKey("audio.capture_mixer_control", .string, default: .string(""), example: "\"Mic\"",
                  "Capture mixer control given audio.mic_gain_db when it has a dB scale; empty: software gain only."),
        ConfigKey("audio.reopen_max_ms", .int(100...60000), default: .int(5000), example: "10000",
                  "Longest wait between attempts to reopen a lost audio device."),
    ]

    static let dsp: [ConfigKey] = [
        ConfigKey("dsp.resampler_quality", .int(0...10), default: .int(5), example: "3",
                  "speexdsp resampler quality (0 fastest, 10 best)."),
        ConfigKey("dsp.aec", .bool, default: .bool(true), example: "false",
                  "Echo cancellation (speexdsp MDF) against what went to the speaker."),
        ConfigKey("dsp.aec_tail_ms", .int(20...500), default: .int(200), example: "300",
                  "Echo canceller filter length in milliseconds."),
        ConfigKey("dsp.aec_extra_delay_ms", .int(-100...300), default: .int(0), example: "12",
                  "Added to the measured ALSA delays when aligning the echo reference: positive hands the canceller older reference (for an echo that arrives sooner than the delays say), negative newer."),
        ConfigKey("dsp.aec_delay_probe", .bool, default: .bool(false), example: "true",
                  "At start and after a device reopen, play a short sweep and measure the echo delay, for boards whose converter delays ALSA does not report."),
        ConfigKey("dsp.aec_align_on_speech", .bool, default: .bool(true), example: "false",
                  "Find the echo's delay from the far end's own speech (the first answer after start or a device reopen, and after an answer with nothing cancelled) and move the reference to lead it by dsp.aec_probe_margin_ms; silent. With dsp.aec_delay_probe the sweep does this instead."),
        ConfigKey("dsp.aec_speaker_curve", .bool, default: .bool(true), example: "false",
                  "Find whether the speaker squashes its peaks (a small speaker or its amplifier driven hard) from the far end's own speech, and bend the echo reference to match, so the canceller can take that echo out too; the first answer after start or a device reopen, and again after a poorly cancelled answer."),
        ConfigKey("dsp.aec_probe_margin_ms", .int(0...50), default: .int(5), example: "10",
                  "How far ahead of the measured echo the probe (or the alignment on speech) puts the reference."),
        ConfigKey("dsp.aec_erle_warning_db", .int(0...60), default: .int(20), example: "15",
                  "Warn (once) when the live echo measure stays below this many dB of ERLE for three answers in a row, naming the likely cause; 0: never."),
        ConfigKey("dsp.drift_warning_ppm", .int(1...10000), default: .int(500), example: "200",
                  "Warn when the capture and playback clocks drift apart by more than this (parts per million); drift up to 2000 ppm is compensated."),
        ConfigKey("dsp.residual_echo_suppression", .bool, default: .bool(true), example: "false",
                  "Let the noise suppressor remove echo the canceller left."),
        ConfigKey("dsp.noise_suppression", .bool, default: .bool(true), example: "false",
                  "Noise suppression (speex preprocessor)."),
        ConfigKey("dsp.noise_suppress_db", .int(-60...0), default: .int(-15), example: "-25",
                  "Maximum noise attenuation in dB."),
        ConfigKey("dsp.agc", .bool, default: .bool(false), example: "true",
                  "Automatic gain control on the microphone, learnt from near-end speech only (never raises residual echo)."),
        ConfigKey("dsp.agc_level", .int(1000...32767), default: .int(8000), example: "12000",
                  "AGC target level of near-end speech (RMS, 16-bit scale)."),
        ConfigKey("dsp.agc_max_gain_db", .int(0...40), default: .int(20), example: "12",
                  "Most the AGC boosts a quiet talker; while the speaker plays it boosts nothing."),
        ConfigKey("dsp.vad", .bool, default: .bool(true), example: "false",
                  "Local voice activity flag on each frame (status and metrics)."),
    ]

    static let backend: [ConfigKey] = [
        ConfigKey("backend.kind", .choice(backendKinds), default: .string("echo"), example: "\"openai\"",
                  "Which backend to talk to (see docs/BACKENDS.md)."),
        ConfigKey("backend.reconnect_initial_ms", .int(100...60000), default: .int(1000), example: "500",
                  "First wait before reconnecting; doubles each failure."),
        ConfigKey("backend.reconnect_max_ms", .int(1000...600_000), default: .int(30000), example: "60000",
                  "Longest wait between reconnect attempts."),
        ConfigKey("backend.stall_timeout_ms", .int(1000...300_000), default: .int(15000), example: "30000",
                  "openai and the WebRTC backends: a connection with no answer to its upgrade (a call not connected) or no session this long after it started, or an answer the server goes quiet on this long, is given up and the link reconnected; also the SDP exchange's timeout."),
        ConfigKey("backend.tls_verify", .bool, default: .bool(true), example: "false",
                  "false: the backend's TLS certificates are NOT checked (a lab relay with a self-signed certificate); every connection logs a warning. Prefer backend.openai.ca_file."),
        ConfigKey("backend.allow_insecure", .bool, default: .bool(false), example: "true",
                  "true: http:// and ws:// endpoints may carry this device's keys and tokens unencrypted to another machine (a lab relay); every such connection logs a warning. Without it check-config refuses them (loopback is always allowed)."),
        ConfigKey("backend.webrtc.local_addresses", .strings, default: .strings([]), example: "[\"10.64.0.2\"]",
                  "WebRTC backends (openai_webrtc, office, training, agent_routes media = webrtc): offer ICE candidates on these addresses only (one uplink of several); empty: every interface."),
        ConfigKey("backend.webrtc.jitter_ms", .int(10...500), default: .int(50), example: "80",
                  "WebRTC backends: receive jitter buffer; longer rides out a worse network, later answers."),
        ConfigKey("backend.echo.delay_ms", .int(0...5000), default: .int(300), example: "0",
                  "echo: pause between the end of a turn and the playback of what was said."),
        ConfigKey("backend.openai.url", .url(["wss", "ws"]), default: .string("wss://api.openai.com/v1/realtime"),
                  example: "\"wss://proxy.example.com/v1/realtime\"", "openai: Realtime WebSocket endpoint, without ?model."),
        ConfigKey("backend.openai.calls_url", .url(["https", "http"]), default: .string("https://api.openai.com/v1/realtime/calls"),
                  example: "\"https://proxy.example.com/v1/realtime/calls\"", "openai_webrtc: SDP exchange endpoint."),
        ConfigKey("backend.openai.ephemeral_key_url", .url(["https", "http"]), default: .string(""),
                  example: "\"https://relay.example.com/api/realtime/client_secret\"",
                  "openai_webrtc: a relay endpoint that mints an ephemeral key for each call (POST, OpenAI's client_secrets body, the configured key as Bearer — there, the relay's device token; answer {value} or {client_secret: {value}}); empty: the configured API key dials the call."),
        ConfigKey("backend.openai.model", .string, default: .string("gpt-realtime"), example: "\"gpt-realtime-mini\"",
                  "openai: Realtime model."),
        ConfigKey("backend.openai.api_key_file", .secretFile, default: nil, example: "\"/etc/parley/openai.key\"",
                  "openai: file holding the API key (mode 0600)."),
        ConfigKey("backend.openai.api_key_credential", .credential, default: nil, example: "\"openai-key\"",
                  "openai: systemd credential holding the API key (LoadCredential=)."),
        ConfigKey("backend.openai.voice", .string, default: .string("marin"), example: "\"cedar\"",
                  "openai: assistant voice."),
        ConfigKey("backend.openai.instructions", .string, default: .string(defaultInstructions),
                  example: "\"You help HVAC technicians. Keep answers short.\"",
                  "openai: system instructions; device and technician context is appended."),
        ConfigKey("backend.openai.transcription_model", .string, default: .string("gpt-4o-mini-transcribe"),
                  example: "\"whisper-1\"", "openai: model transcribing the technician's speech; empty: none."),
        ConfigKey("backend.openai.language", .string, default: .string("en"), example: "\"de\"",
                  "openai: language hint for transcription."),
        ConfigKey("backend.openai.append_chunk_ms", .int(10...200), default: .int(10), example: "40",
                  "openai: audio per input_audio_buffer.append while listening (10: each capture frame leaves as it is made)."),
        ConfigKey("backend.openai.noise_reduction", .choice(["off", "near_field", "far_field"]),
                  default: .string("off"), example: "\"far_field\"",
                  "openai: server-side input noise reduction (Parley already suppresses noise)."),
        ConfigKey("backend.openai.session_refresh_s", .int(5...3540), default: .int(3300), example: "3000",
                  "openai: sessions end after 60 minutes; one this old is renewed between turns (session.update re-sent)."),
        ConfigKey("backend.openai.ca_file", .string, default: .string(""), example: "\"/etc/parley/proxy-ca.pem\"",
                  "openai: extra CA certificate (PEM) trusted beside the system store, for a TLS-intercepting proxy."),
        ConfigKey("backend.agent_routes.base_url", .url(["https", "http"]), default: nil, example: "\"https://relay.example.com\"",
                  "agent_routes (seed 000): relay base URL."),
        ConfigKey("backend.agent_routes.user_id", .string, default: nil, example: "\"van-0412\"",
                  "agent_routes: user id sent as the user-id header and userId query."),
        ConfigKey("backend.agent_routes.model", .string, default: .string("gpt-realtime"), example: "\"gpt-realtime\"",
                  "agent_routes: model requested for the session."),
        ConfigKey("backend.agent_routes.media", .choice(["webrtc", "chat"]), default: .string("webrtc"), example: "\"chat\"",
                  "agent_routes: how turns travel. webrtc: a WebRTC call whose offer the relay forwards (POST /api/agent/v1/realtime); chat: the relay's chat completions, answers spoken on the device (builds without WebRTC, relays without realtime access)."),
        ConfigKey("backend.agent_routes.chat_model", .string, default: .string("gpt-4o"), example: "\"gpt-4o-mini\"",
                  "agent_routes (media = chat): model of the chat completions that answer turns."),
        ConfigKey("backend.agent_routes.instructions", .string, default: .string(defaultInstructions),
                  example: "\"You help HVAC technicians. Keep answers short.\"",
                  "agent_routes: system message of the chat completions; device and technician context is appended."),
    ] + transcriptionKeys("agent_routes") + [
        ConfigKey("backend.rt_relay.base_url", .url(["https", "http"]), default: nil, example: "\"https://rt.example.com\"",
                  "rt_relay (seed 001): relay base URL."),
        ConfigKey("backend.rt_relay.provider", .string, default: .string("openai"), example: "\"openai\"",
                  "rt_relay: provider named in /api/rt/start."),
        ConfigKey("backend.rt_relay.model", .string, default: .string("gpt-realtime"), example: "\"gpt-realtime\"",
                  "rt_relay: model named in /api/rt/start."),
        ConfigKey("backend.rt_relay.api_key_file", .secretFile, default: nil, example: "\"/etc/parley/rt.key\"",
                  "rt_relay: optional API key passed to /api/rt/start."),
        ConfigKey("backend.rt_relay.api_key_credential", .credential, default: nil, example: "\"rt-key\"",
                  "rt_relay: the same, as a systemd credential."),
        ConfigKey("backend.rt_relay.append_chunk_ms", .int(20...1000), default: .int(100), example: "200",
                  "rt_relay: microphone audio per audio-append request (the relay cannot clear uploaded audio: a dropped turn shorter than this is never sent)."),
        ConfigKey("backend.rt_relay.response_idle_ms", .int(200...10000), default: .int(1500), example: "2000",
                  "rt_relay: an answer is over when no audio came for this long (sooner once its text is done)."),
        ConfigKey("backend.office.base_url", .url(["https", "http"]), default: nil, example: "\"http://office.local:8000\"",
                  "office (seed 002): server base URL."),
        ConfigKey("backend.office.model", .string, default: .string("gpt-realtime"), example: "\"gpt-realtime\"",
                  "office: model sent with the SDP offer."),
        ConfigKey("backend.training.base_url", .url(["https", "http"]), default: nil, example: "\"https://training.example.com\"",
                  "training (seed 003): backend base URL."),
        ConfigKey("backend.training.token_file", .secretFile, default: nil, example: "\"/etc/parley/training.jwt\"",
                  "training: file holding the Bearer JWT."),
        ConfigKey("backend.training.token_credential", .credential, default: nil, example: "\"training-jwt\"",
                  "training: the JWT as a systemd credential."),
        ConfigKey("backend.training.user_id", .string, default: .string(""), example: "\"T-1184\"",
                  "training: the JWT's user, stored with each transcript when transcripts.user_id is empty; empty too: device.technician_id."),
        ConfigKey("backend.agent_c.url", .url(["wss", "ws"]), default: nil, example: "\"wss://agents.example.com\"",
                  "agent_c (seed 004): WebSocket base URL (/api/avatar/ws is appended)."),
        ConfigKey("backend.agent_c.token_file", .secretFile, default: nil, example: "\"/etc/parley/agentc.jwt\"",
                  "agent_c: file holding the JWT."),
        ConfigKey("backend.agent_c.token_credential", .credential, default: nil, example: "\"agentc-jwt\"",
                  "agent_c: the JWT as a systemd credential."),
        ConfigKey("backend.agent_c.agent", .string, default: .string(""), example: "\"field-support\"",
                  "agent_c: agent to select with set_agent; empty: the server's first."),
    ] + transcriptionKeys("agent_c")

    /// Spoken turns of the text backends go through an OpenAI transcription session.
    static func transcriptionKeys(_ kind: String) -> [ConfigKey] {
        let section = "backend.\(kind)."
        return [
            ConfigKey(section + "transcription_key_file", .secretFile, default: nil, example: "\"/etc/parley/openai.key\"",
                      "\(kind): OpenAI API key for transcribing spoken turns (a transcription session); without it only typed turns work."),
            ConfigKey(section + "transcription_key_credential", .credential, default: nil, example: "\"openai-key\"",
                      "\(kind): the same, as a systemd credential."),
            ConfigKey(section + "transcription_url", .url(["wss", "ws"]), default: .string("wss://api.openai.com/v1/realtime"),
                      example: "\"wss://proxy.example.com/v1/realtime\"",
                      "\(kind): transcription WebSocket endpoint (?intent=transcription is added)."),
            ConfigKey(section + "transcription_model", .string, default: .string("gpt-4o-mini-transcribe"),
                      example: "\"gpt-4o-transcribe\"", "\(kind): model transcribing spoken turns."),
            ConfigKey(section + "language", .string, default: .string("en"), example: "\"de\"",
                      "\(kind): language of spoken turns (transcription hint)."),
        ]
    }

    static let speech: [ConfigKey] = [
        ConfigKey("speech.voice", .string, default: .string("en-us"), example: "\"de\"",
                  "espeak-ng voice speaking text answers on the device (agent_c, agent_routes); list: espeak-ng --voices."),
        ConfigKey("speech.words_per_minute", .int(80...450), default: .int(175), example: "160",
                  "Speaking rate of the on-device voice."),
    ]

    static let tools: [ConfigKey] = [
        ConfigKey("tools.builtins", .bool, default: .bool(true), example: "false",
                  "Offer the assistant the built-in functions device_status (this device's state) and set_volume."),
        ConfigKey("tools.http.*.description", .string, default: nil,
                  example: "\"List the technician's open work orders.\"",
                  "What the function does, for the model (one table per function: [tools.http.<name>])."),
        ConfigKey("tools.http.*.parameters", .jsonObject, default: .string(#"{"type":"object","properties":{}}"#),
                  example: #"'{"type":"object","properties":{"status":{"type":"string"}}}'"#,
                  "JSON schema of the function's arguments."),
        ConfigKey("tools.http.*.url", .url(["https", "http"]), default: nil, example: "\"https://office.local/api/tools/work_orders\"",
                  "Where the arguments are POSTed as JSON with the device and technician context; the response body is the function's output."),
        ConfigKey("tools.http.*.timeout_ms", .int(100...60000), default: .int(5000), example: "8000",
                  "Longest wait for the tool server; a timeout becomes an error output the model can explain."),
    ]

    static let ptt: [ConfigKey] = [
        ConfigKey("ptt.mode", .choice(words(PTTSettings.Mode.self)), default: .string("hold"), reload: .live,
                  example: "\"toggle\"", "hold: talk while pressed. toggle: tap to start and to end. vad: hands-free; the button mutes."),
        ConfigKey("ptt.vad_kind", .choice(["server_vad", "semantic_vad"]), default: .string("semantic_vad"),
                  reload: .live, example: "\"server_vad\"", "Turn detection used in vad mode."),
        ConfigKey("ptt.long_press_ms", .int(500...10000), default: .int(3000), reload: .live, example: "2000",
                  "toggle mode: holding the press that started a turn this long cancels it, nothing is sent (in hold mode holding is talking)."),
        ConfigKey("ptt.min_turn_ms", .int(0...2000), default: .int(100), reload: .live, example: "150",
                  "Shorter turns are dropped with a \"too short\" cue instead of being sent."),
    ]

    static let board: [ConfigKey] = [
        ConfigKey("board.kind", .choice(words(BoardSettings.Kind.self)), default: .string("sim"), example: "\"gpio\"",
                  "sim: simulated buttons and LEDs (control socket). gpio: libgpiod lines."),
        ConfigKey("board.required", .bool, default: .bool(true), example: "false",
                  "true: a line missing on the chip (or busy) is a configuration error, exit 78; a chip not there at all is waited for (READY, status `gpio: waiting for chip …`, claimed when it appears). false: run without what is missing."),
        ConfigKey("board.chip", .string, default: .string("gpiochip0"), example: "\"pinctrl-rp1\"",
                  "GPIO chip by name, label or path."),
        ConfigKey("board.ptt_line", .string, default: .string("ptt"), example: "\"GPIO17\"",
                  "Push-to-talk button line, by name (survives renumbering) or offset."),
        ConfigKey("board.volume_up_line", .string, default: .string(""), example: "\"vol_up\"",
                  "Optional volume-up button line (each press: board.volume_step louder). Empty: none."),
        ConfigKey("board.volume_down_line", .string, default: .string(""), example: "\"vol_down\"",
                  "Optional volume-down button line. Empty: none."),
        ConfigKey("board.cancel_line", .string, default: .string(""), example: "\"cancel\"",
                  "Optional cancel button line: drops the turn being spoken or stops the answer. Empty: none."),
        ConfigKey("board.volume_step", .int(1...50), default: .int(10), example: "5",
                  "Volume change per volume-button press, in percent."),
        ConfigKey("board.active_low", .bool, default: .bool(true), example: "false",
                  "Buttons read 0 when pressed."),
        ConfigKey("board.bias", .choice(["pull_up", "pull_down", "disabled", "as_is"]), default: .string("pull_up"),
                  example: "\"as_is\"", "Bias for button lines."),
        ConfigKey("board.debounce_ms", .int(0...200), default: .int(20), example: "30",
                  "Leading-edge debounce for buttons."),
        ConfigKey("board.leds.*.line", .string, default: nil, example: "\"led_rec\"",
                  "An LED's GPIO line, by name or offset (one table per LED: [board.leds.<name>])."),
        ConfigKey("board.leds.*.active_low", .bool, default: .bool(false), example: "true",
                  "The LED lights when its line is 0."),
    ] + ledStateKeys + [
        ConfigKey("board.cues.enabled", .bool, default: .bool(true), reload: .live, example: "false",
                  "Short sounds for ready, listening start and end, too short, cancelled, error, offline, back online."),
        ConfigKey("board.cues.volume", .int(0...100), default: .int(50), reload: .live, example: "30",
                  "Cue volume in percent of the speaker volume."),
    ] + cueKeys

    /// What each LED shows in each device state (`board.leds.<name>.<state>`). An LED that
    /// names no state is a status LED with `ledDefaults`; one that names any shows exactly
    /// those (the rest off), so the colours of an RGB LED (three LEDs) do not mix by default.
    public static let ledPatterns = ["off", "on", "blink_slow", "blink_fast", "heartbeat", "pulse"]
    public static let ledDefaults: [(state: String, pattern: String)] = [
        ("off", "off"), ("offline", "blink_slow"), ("connecting", "blink_fast"), ("ready", "heartbeat"),
        ("listening", "on"), ("thinking", "pulse"), ("speaking", "on"), ("error", "blink_fast"),
    ]
    static let ledStateKeys: [ConfigKey] = ledDefaults.map { state, pattern in
        ConfigKey("board.leds.*.\(state)", .choice(ledPatterns), default: .string(""), example: "\"pulse\"",
                  "Pattern in the \(state) state (pulse: software PWM). If the LED names no state at all: \"\(pattern)\"; else off.")
    }

    /// One key per cue: "builtin" (generated in code), "off", or a WAV file (PCM 16-bit, mono or stereo).
    public static let cueNames = ["ready", "listening", "listening_end", "too_short", "cancelled", "error", "offline", "online"]
    static let cueKeys: [ConfigKey] = cueNames.map {
        ConfigKey("board.cues.\($0)", .string, default: .string("builtin"), reload: .live,
                  example: "\"/etc/parley/sounds/\($0).wav\"",
                  "The \($0.replacing("_", with: " ")) cue: \"builtin\", \"off\", or a WAV file (16-bit PCM).")
    }

    /// Keys `transcripts.enabled = true` needs (one of each group).
    public static let transcriptRequirements = [["transcripts.url"], ["transcripts.token_file", "transcripts.token_credential"]]

    static let transcripts: [ConfigKey] = [
        ConfigKey("transcripts.enabled", .bool, default: .bool(false), example: "true",
                  "Post every finished user and assistant transcript, from any backend, to transcripts.url (seed 003's POST /realtime/transcripts) through a durable on-device queue."),
        ConfigKey("transcripts.url", .url(["https", "http"]), default: nil, example: "\"https://training.example.com/realtime/transcripts\"",
                  "Full URL transcripts are POSTed to (JSON TranscriptCreate, Bearer JWT)."),
        ConfigKey("transcripts.token_file", .secretFile, default: nil, example: "\"/etc/parley/transcripts.jwt\"",
                  "File holding the Bearer JWT for transcripts.url."),
        ConfigKey("transcripts.token_credential", .credential, default: nil, example: "\"transcripts-jwt\"",
                  "The JWT as a systemd credential."),
        ConfigKey("transcripts.user_id", .string, default: .string(""), example: "\"T-1184\"",
                  "user_id stored with each transcript (the JWT's user); empty: backend.training.user_id, then device.technician_id."),
        ConfigKey("transcripts.queue_path", .string, default: .string("/var/lib/parley/transcripts.db"),
                  example: "\"/data/parley/transcripts.db\"",
                  "SQLite queue (WAL, synchronous=FULL) holding transcripts until the endpoint took them; survives restarts and power loss."),
        ConfigKey("transcripts.max_queued", .int(10...10_000_000), default: .int(10000), example: "50000",
                  "Most transcripts kept waiting; when full, new ones are refused with an error log line (the queued ones are kept)."),
        ConfigKey("transcripts.retry_max_ms", .int(1000...3_600_000), default: .int(60000), example: "300000",
                  "Longest wait between delivery attempts while the endpoint is down (starts at 1 s, doubles)."),
        ConfigKey("transcripts.timeout_ms", .int(500...120_000), default: .int(10000), example: "20000",
                  "Longest wait for one POST."),
    ]

    static let control: [ConfigKey] = [
        ConfigKey("control.socket", .string, default: .string("/run/parley/control.sock"), example: "\"/tmp/parley.sock\"",
                  "Unix socket for parleyctl."),
        ConfigKey("control.mode", .fileMode, default: .string("0660"), example: "\"0600\"",
                  "Permissions of the control socket."),
        ConfigKey("control.group", .string, default: .string(""), example: "\"parley\"",
                  "Group owning the control socket; empty: the daemon's group."),
    ]

    static let logging: [ConfigKey] = [
        ConfigKey("logging.level", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
                  default: .string("info"), reload: .live, example: "\"debug\"", "Lowest level logged."),
        ConfigKey("logging.format", .choice(words(LoggingSettings.Format.self)), default: .string("auto"),
                  example: "\"json\"", "auto: journal priorities under systemd (JOURNAL_STREAM), plain otherwise; json: one object per line."),
    ]

    static let metrics: [ConfigKey] = [
        ConfigKey("metrics.enabled", .bool, default: .bool(false), example: "true",
                  "Serve Prometheus text on metrics.listen."),
        ConfigKey("metrics.listen", .string, default: .string("127.0.0.1:9464"), example: "\"127.0.0.1:9100\"",
                  "Address and port for the metrics endpoint."),
    ]

    static let provisioning: [ConfigKey] = [
        ConfigKey("provisioning.url", .url(["https", "http"]), default: .string(""),
                  example: "\"https://fleet.example.com/parley\"",
                  "Remote provisioning (docs/FLEET.md): the device pulls <url>/<device.id>.toml and its detached Ed25519 signature <url>/<device.id>.toml.sig at start and every interval_s, applies what verifies and validates, and POSTs a report to <url>/<device.id>/report. Empty: off."),
        ConfigKey("provisioning.public_key", .string, default: .string(""),
                  example: "\"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\"",
                  "The fleet's Ed25519 public key: the base64 line of `openssl pkey -pubout` (or the 32 raw bytes in base64). Files it did not sign are refused."),
        ConfigKey("provisioning.fleet_default", .bool, default: .bool(false), example: "true",
                  "Also pull <url>/default.toml (and .sig), applied below the device's own file."),
        ConfigKey("provisioning.interval_s", .int(5...86400), default: .int(900), example: "300",
                  "Between pulls (and reports), with ±10 % jitter so a fleet does not pull at once."),
        ConfigKey("provisioning.rollback_after_s", .int(10...3600), default: .int(120), example: "300",
                  "A device not ready this long after applying pulled config restores the last good one."),
        ConfigKey("provisioning.ca_file", .string, default: .string(""), example: "\"/etc/parley/fleet-ca.pem\"",
                  "Extra CA certificate (PEM) trusted for provisioning.url beside the system store."),
    ]
}
