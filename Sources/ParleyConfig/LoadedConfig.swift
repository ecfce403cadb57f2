#if canImport(Glibc)
import Glibc
#endif

/// A configuration that loaded and validated: the effective values with their sources,
/// the typed settings, and the secrets read for the chosen backend.
public struct LoadedConfig: Sendable {
    public let effective: EffectiveConfig
    public let settings: ParleySettings
    /// Secrets by the key that referenced them.
    public let secrets: [String: Secret]

    /// Loads, validates and resolves secrets; throws every problem found at once.
    public static func load(
        paths: ConfigPaths, environment: [String: String], schema: ConfigSchema = .parley,
        machineIDPath: String = "/etc/machine-id"
    ) throws(ConfigError) -> LoadedConfig {
        let trust = FileTrust.current
        let layers = ConfigLoader(schema: schema, environment: environment, trust: trust).load(paths)
        var (effective, problems) = ConfigValidator(schema: schema).validate(layers)

        // Only the chosen backend's secrets (and the transcript token when enabled) are read:
        // a fleet config may name files that exist only on devices running another backend.
        var secrets: [String: Secret] = [:]
        var reader = SecretReader(credentialsDirectory: environment["CREDENTIALS_DIRECTORY"], trust: trust)
        if (environment["CREDENTIALS_DIRECTORY"] ?? "").isEmpty {
            reader.unitCredentials = UnitCredentials.sources(
                UnitCredentials.texts(searchPath: UnitCredentials.searchPath(environment: environment)))
        }
        let prefixes = [Self.backendSection(effective.string("backend.kind"))]
            + (effective.bool("transcripts.enabled") ? ["transcripts."] : [])
        for item in effective.sortedItems where prefixes.contains(where: item.key.hasPrefix) {
            guard case .string(let reference)? = item.value else { continue }
            let result: Result<Secret, ConfigProblem>
            switch item.spec.kind {
            case .secretFile: result = reader.read(file: reference, source: item.source, key: item.key)
            case .credential: result = reader.read(credential: reference, source: item.source, key: item.key)
            default: continue
            }
            switch result {
            case .success(let secret): secrets[item.key] = secret
            case .failure(let problem): problems.append(problem)
            }
        }
        guard problems.isEmpty else { throw ConfigError(problems: problems) }

        if effective.optionalString("device.id") == nil {
            effective = effective.setting("device.id", to: Self.machineID(at: machineIDPath))
        }
        return LoadedConfig(effective: effective, settings: ParleySettings(effective, secrets: secrets),
                            secrets: secrets)
    }

    /// Config section of a backend kind; openai_webrtc shares openai's.
    static func backendSection(_ kind: String) -> String {
        "backend." + (kind == "openai_webrtc" ? "openai" : kind) + "."
    }

    static func machineID(at path: String) -> String {
        if let id = try? SystemFiles.read(path).trimmingSpaces, !id.isEmpty { return id }
        var name = [UInt8](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        return String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
    }
}

extension EffectiveConfig {
    package func setting(_ key: String, to value: String) -> EffectiveConfig {
        var items = self.items
        if let item = items[key] {
            items[key] = Item(key: key, value: .string(value), source: item.source, spec: item.spec)
        }
        return EffectiveConfig(items: items, files: files)
    }
}

extension ParleySettings {
    package init(_ c: EffectiveConfig, secrets: [String: Secret]) {
        device = DeviceSettings(
            id: c.string("device.id"), fleet: c.string("device.fleet"), site: c.string("device.site"),
            technicianID: c.string("device.technician_id"), technicianName: c.string("device.technician_name"))
        audio = AudioSettings(
            captureDevice: c.string("audio.capture_device"), playbackDevice: c.string("audio.playback_device"),
            rate: c.int("audio.rate"), captureChannels: c.int("audio.capture_channels"),
            micChannel: c.int("audio.mic_channel"), micMix: c.bool("audio.mic_mix"),
            playbackChannels: c.int("audio.playback_channels"), periodMilliseconds: c.int("audio.period_ms"),
            bufferPeriods: c.int("audio.buffer_periods"),
            pacing: c.choice("audio.pacing", as: AudioSettings.Pacing.self),
            realtimePriority: c.int("audio.realtime_priority"), lockMemory: c.bool("audio.lock_memory"),
            prerollMilliseconds: c.int("audio.preroll_ms"), jitterMilliseconds: c.int("audio.jitter_ms"),
            volumePercent: c.int("audio.volume"), micGainDecibels: c.double("audio.mic_gain_db"),
            mixerCard: c.string("audio.mixer_card"),
            playbackMixerControl: c.optionalString("audio.playback_mixer_control"),
            captureMixerControl: c.optionalString("audio.capture_mixer_control"),
            reopenMaxMilliseconds: c.int("audio.reopen_max_ms"))
        dsp = DSPSettings(
            resamplerQuality: c.int("dsp.resampler_quality"), echoCancellation: c.bool("dsp.aec"),
            echoTailMilliseconds: c.int("dsp.aec_tail_ms"), echoExtraDelayMilliseconds: c.int("dsp.aec_extra_delay_ms"),
            driftWarningPPM: c.int("dsp.drift_warning_ppm"),
            residualEchoSuppression: c.bool("dsp.residual_echo_suppression"),
            noiseSuppression: c.bool("dsp.noise_suppression"), noiseSuppressDecibels: c.int("dsp.noise_suppress_db"),
            automaticGain: c.bool("dsp.agc"), automaticGainLevel: c.int("dsp.agc_level"),
            automaticGainMaximumDecibels: c.int("dsp.agc_max_gain_db"),
            echoDelayProbe: c.bool("dsp.aec_delay_probe"), echoProbeMarginMilliseconds: c.int("dsp.aec_probe_margin_ms"),
            voiceActivity: c.bool("dsp.vad"), echoHealthWarningDecibels: c.int("dsp.aec_erle_warning_db"),
            alignOnSpeech: c.bool("dsp.aec_align_on_speech"), speakerCurve: c.bool("dsp.aec_speaker_curve"))
        let kind = c.choice("backend.kind", as: BackendSettings.Kind.self)
        let section = LoadedConfig.backendSection(kind.rawValue)
        func secret(_ names: String...) -> Secret? { names.lazy.compactMap { secrets[section + $0] }.first }
        backend = BackendSettings(
            kind: kind, reconnectInitialMilliseconds: c.int("backend.reconnect_initial_ms"),
            reconnectMaxMilliseconds: c.int("backend.reconnect_max_ms"),
            stallTimeoutMilliseconds: c.int("backend.stall_timeout_ms"), tlsVerify: c.bool("backend.tls_verify"),
            allowInsecure: c.bool("backend.allow_insecure"), echoDelayMilliseconds: c.int("backend.echo.delay_ms"),
            openAI: .init(
                url: c.string("backend.openai.url"), callsURL: c.string("backend.openai.calls_url"),
                ephemeralKeyURL: c.optionalString("backend.openai.ephemeral_key_url"),
                model: c.string("backend.openai.model"),
                apiKey: secrets["backend.openai.api_key_file"] ?? secrets["backend.openai.api_key_credential"],
                voice: c.string("backend.openai.voice"), instructions: c.string("backend.openai.instructions"),
                transcriptionModel: c.optionalString("backend.openai.transcription_model"),
                language: c.string("backend.openai.language"),
                appendChunkMilliseconds: c.int("backend.openai.append_chunk_ms"),
                noiseReduction: c.string("backend.openai.noise_reduction"),
                caFile: c.optionalString("backend.openai.ca_file"),
                sessionRefreshSeconds: c.int("backend.openai.session_refresh_s")),
            relay: .init(
                baseURL: c.string(section + "base_url").isEmpty ? c.string(section + "url") : c.string(section + "base_url"),
                userID: c.optionalString(section + "user_id") ?? c.string("device.technician_id"),
                model: c.string(section + "model"), provider: c.string(section + "provider"),
                credential: secret("api_key_file", "api_key_credential", "token_file", "token_credential"),
                agent: c.string(section + "agent"),
                media: c.string(section + "media"), chatModel: c.string(section + "chat_model"), instructions: c.string(section + "instructions"),
                transcriptionKey: secret("transcription_key_file", "transcription_key_credential"),
                transcriptionURL: c.string(section + "transcription_url"),
                transcriptionModel: c.string(section + "transcription_model"),
                language: c.string(section + "language"),
                appendChunkMilliseconds: c.int("backend.rt_relay.append_chunk_ms"),
                responseIdleMilliseconds: c.int("backend.rt_relay.response_idle_ms")),
            webRTC: .init(localAddresses: c.strings("backend.webrtc.local_addresses"),
                          jitterMilliseconds: c.int("backend.webrtc.jitter_ms")))
        speech = SpeechSettings(voice: c.string("speech.voice"), wordsPerMinute: c.int("speech.words_per_minute"))
        tools = ToolSettings(
            builtins: c.bool("tools.builtins"),
            http: c.names(under: "tools.http").map {
                .init(name: $0, description: c.string("tools.http.\($0).description"),
                      parameters: c.string("tools.http.\($0).parameters"), url: c.string("tools.http.\($0).url"),
                      timeoutMilliseconds: c.int("tools.http.\($0).timeout_ms"))
            })
        ptt = PTTSettings(
            mode: c.choice("ptt.mode", as: PTTSettings.Mode.self), vadKind: c.string("ptt.vad_kind"),
            longPressMilliseconds: c.int("ptt.long_press_ms"), minimumTurnMilliseconds: c.int("ptt.min_turn_ms"))
        board = BoardSettings(
            kind: c.choice("board.kind", as: BoardSettings.Kind.self), required: c.bool("board.required"),
            chip: c.string("board.chip"), pttLine: c.string("board.ptt_line"),
            volumeUpLine: c.optionalString("board.volume_up_line"), volumeDownLine: c.optionalString("board.volume_down_line"),
            cancelLine: c.optionalString("board.cancel_line"), volumeStepPercent: c.int("board.volume_step"),
            activeLow: c.bool("board.active_low"),
            bias: c.string("board.bias"), debounceMilliseconds: c.int("board.debounce_ms"),
            leds: c.names(under: "board.leds").map { name in
                .init(name: name, line: c.string("board.leds.\(name).line"), activeLow: c.bool("board.leds.\(name).active_low"),
                      patterns: Dictionary(uniqueKeysWithValues: ConfigSchema.ledDefaults.compactMap {
                          c.optionalString("board.leds.\(name).\($0.state)").map { [state = $0.state] in (state, $0) }
                      }))
            },
            cuesEnabled: c.bool("board.cues.enabled"), cueVolumePercent: c.int("board.cues.volume"),
            cueSources: Dictionary(uniqueKeysWithValues: ConfigSchema.cueNames.map { ($0, c.string("board.cues.\($0)")) }))
        transcripts = TranscriptSettings(
            enabled: c.bool("transcripts.enabled"), url: c.optionalString("transcripts.url") ?? "",
            token: secrets["transcripts.token_file"] ?? secrets["transcripts.token_credential"],
            userID: c.optionalString("transcripts.user_id") ?? c.optionalString("backend.training.user_id")
                ?? c.string("device.technician_id"),
            queuePath: c.string("transcripts.queue_path"), maximumQueued: c.int("transcripts.max_queued"),
            retryMaxMilliseconds: c.int("transcripts.retry_max_ms"), timeoutMilliseconds: c.int("transcripts.timeout_ms"))
        control = ControlSettings(
            socketPath: c.string("control.socket"), mode: UInt32(c.string("control.mode"), radix: 8) ?? 0o660,
            group: c.optionalString("control.group"))
        logging = LoggingSettings(
            level: c.string("logging.level"),
            format: c.choice("logging.format", as: LoggingSettings.Format.self))
        metrics = MetricsSettings(enabled: c.bool("metrics.enabled"), listen: c.string("metrics.listen"))
        provisioning = ProvisioningSettings(
            url: c.optionalString("provisioning.url"), publicKey: c.string("provisioning.public_key"),
            fleetDefault: c.bool("provisioning.fleet_default"), intervalSeconds: c.int("provisioning.interval_s"),
            rollbackAfterSeconds: c.int("provisioning.rollback_after_s"), caFile: c.optionalString("provisioning.ca_file"))
    }
}
