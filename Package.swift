// swift-tools-version:6.1
// Parley: a push-to-talk voice appliance daemon. Module plan: docs/ARCHITECTURE.md.
// Dependencies point one way: executables → ParleyDaemon → ParleyCore →
// transports/audio/board → ParleyConfig and the C modules.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Only what a file imports is visible: Foundation's String extensions, made visible by
    // a dependency that imports it, would otherwise link all of Foundation and ICU (34 MB).
    .enableUpcomingFeature("MemberImportVisibility"),
]

func systemLibrary(_ name: String, pkgConfig: String? = nil, apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v15)],  // Linux is the target; this only unlocks async main and Synchronization
    products: [
        .executable(name: "parleyd", targets: ["parleyd"]),
        .executable(name: "parleyctl", targets: ["parleyctl"]),
        // For Benchmarks/ (a package of its own).
        .library(name: "ParleyAudio", targets: ["ParleyAudio"]),
        .library(name: "ParleyConfig", targets: ["ParleyConfig"]),
        // For Fuzz/ (libFuzzer, a package of its own).
        .library(name: "ParleyFuzzing", targets: ["ParleyFuzzing"]),
    ],
    // WebRTC (GStreamer webrtcbin) for the openai_webrtc, office and training backends; a
    // build without it (`--disable-default-traits`) needs no GStreamer and keeps the others.
    traits: [
        .trait(name: "WebRTC", description: "The WebRTC backends, on GStreamer webrtcbin"),
        .default(enabledTraits: ["WebRTC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", exact: "1.6.2"),
    ],
    targets: [
        // C libraries from Debian, and the shims for what Swift cannot call directly.
        systemLibrary("CALSA", pkgConfig: "alsa", apt: "libasound2-dev"),
        systemLibrary("CSpeexDSP", pkgConfig: "speexdsp", apt: "libspeexdsp-dev"),
        systemLibrary("COpus", pkgConfig: "opus", apt: "libopus-dev"),
        // Headers only: CParleyLazy opens these three at their first call.
        systemLibrary("CCurl", apt: "libcurl4-openssl-dev"),
        systemLibrary("CGpiod", pkgConfig: "libgpiod", apt: "libgpiod-dev"),
        systemLibrary("CSQLite", pkgConfig: "sqlite3", apt: "libsqlite3-dev"),
        systemLibrary("CEspeak", apt: "libespeak-ng-dev"),
        systemLibrary("COpenSSL", apt: "libssl-dev"),
        .target(name: "CParleyLazy", dependencies: ["CCurl", "CEspeak", "COpenSSL"]),
        .target(name: "CParleyShims", dependencies: ["CCurl", "CParleyLazy", "COpus", "CALSA"]),
        systemLibrary("CGStreamer", pkgConfig: "gstreamer-app-1.0", apt: "libgstreamer-plugins-base1.0-dev"),
        .target(name: "CParleyWebRTC", dependencies: ["CGStreamer"]),

        // Configuration: schema, layered TOML + environment, validation, secrets. Pure but for file reads.
        .target(
            name: "ParleyConfig",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: swiftSettings
        ),
        // Signal processing on audio frames: resampling, echo cancellation, noise suppression, Opus.
        .target(name: "ParleyDSP", dependencies: ["CSpeexDSP", "COpus", "CParleyShims", "ParleyConfig"], swiftSettings: swiftSettings),
        // Data plane: ALSA devices on real-time threads, lock-free rings.
        .target(
            name: "ParleyAudio",
            dependencies: ["CALSA", "CParleyShims", "ParleyDSP", "ParleyConfig"],
            swiftSettings: swiftSettings
        ),
        // Buttons and LEDs: the board protocol, the simulated board, libgpiod lines.
        .target(
            name: "ParleyBoard",
            dependencies: ["CGpiod", "CParleyShims", "ParleyConfig"],
            swiftSettings: swiftSettings
        ),
        // On-device speech for text backends: libespeak-ng synthesis, sentence splitting (pure).
        .target(name: "ParleySpeech", dependencies: ["CEspeak", "CParleyLazy", "ParleyDSP"], swiftSettings: swiftSettings),
        // OpenAI Realtime GA events: building client events, parsing server events (pure).
        .target(name: "ParleyRealtime", swiftSettings: swiftSettings),
        // HTTP(S) requests through libcurl: tool calls, relay REST routes.
        .target(name: "ParleyHTTP", dependencies: ["CCurl", "CParleyLazy", "CParleyShims"], swiftSettings: swiftSettings),
        // A small WebSocket client protocol and its SwiftNIO implementation (hummingbird's WSClient, NIOSSL).
        .target(
            name: "ParleyWebSocket",
            dependencies: [
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A WebRTC call on GStreamer's webrtcbin: offer/answer, Opus audio both ways, a data channel.
        .target(name: "ParleyWebRTC", dependencies: ["CGStreamer", "CParleyWebRTC"], swiftSettings: swiftSettings),
        // Voice backends behind one protocol.
        .target(
            name: "ParleyTransport",
            dependencies: ["ParleyConfig", "ParleyRealtime", "ParleyWebSocket", "ParleyHTTP", "ParleySpeech",
                           .target(name: "ParleyWebRTC", condition: .when(traits: ["WebRTC"])),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Store-and-forward of finished transcripts: a SQLite (WAL) queue delivered over HTTP.
        .target(
            name: "ParleyTranscripts",
            dependencies: ["CSQLite", "ParleyHTTP", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The conversation state machine (pure) and the controller that runs it against the edges.
        .target(
            name: "ParleyCore",
            dependencies: [
                "ParleyConfig", "ParleyAudio", "ParleyBoard", "ParleyTransport", "ParleyRealtime",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Remote provisioning's pure parts: the fleet's Ed25519 signatures (libcrypto), what a pull means.
        .target(name: "ParleyProvisioning", dependencies: ["COpenSSL", "CParleyLazy"], swiftSettings: swiftSettings),
        // The control socket's requests and replies (line-delimited JSON), shared by parleyd and parleyctl.
        .target(name: "ParleyControlProtocol", swiftSettings: swiftSettings),
        // The parsers fed by the network or the operator, as fuzz targets (Fuzz/, make fuzz).
        .target(name: "ParleyFuzzing", dependencies: ["ParleyConfig", "ParleyControlProtocol", "ParleyRealtime",
                                                      "ParleyTransport",
                                                      .target(name: "ParleyWebRTC", condition: .when(traits: ["WebRTC"]))],
                swiftSettings: swiftSettings),
        // The daemon: services, systemd notify and watchdog, logging, signals, CLI.
        .target(
            name: "ParleyDaemon",
            dependencies: [
                "ParleyCore", "ParleyConfig", "ParleyAudio", "ParleyBoard", "ParleyTransport", "ParleyControlProtocol",
                "ParleyTranscripts", "ParleySpeech", "ParleyProvisioning",
                "ParleyRealtime", "ParleyWebSocket", "ParleyHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // parleyctl's commands, over the control socket; both executables run them.
        .target(
            name: "ParleyControlClient",
            dependencies: ["ParleyControlProtocol", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parleyd", dependencies: ["ParleyDaemon", "ParleyControlClient"], swiftSettings: swiftSettings,
            // Nothing loads symbols from the daemon: exporting them all (swiftc's default for
            // executables) costs 2.7 MB of dynamic symbol tables and relocations.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux]))]),
        .executableTarget(name: "parleyctl", dependencies: ["ParleyControlClient"], swiftSettings: swiftSettings),

        .testTarget(name: "ParleyConfigTests", dependencies: ["ParleyConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyProvisioningTests", dependencies: ["ParleyProvisioning"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ParleyDaemonTests",
            dependencies: ["ParleyDaemon", "ParleyConfig", "ParleyCore", "ParleyAudio",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ParleyRealtimeTests", dependencies: ["ParleyRealtime"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyBoardTests", dependencies: ["ParleyBoard", "ParleyConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyTranscriptsTests", dependencies: ["ParleyTranscripts", "ParleyHTTP",
                                                                 .product(name: "Logging", package: "swift-log")],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ParleySpeechTests", dependencies: ["ParleySpeech"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyControlTests", dependencies: ["ParleyControlProtocol"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyFuzzingTests", dependencies: ["ParleyFuzzing"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyCoreTests", dependencies: ["ParleyCore", "ParleyTransport", "ParleySpeech", "ParleyBoard", "ParleyConfig", "ParleyRealtime", .product(name: "Logging", package: "swift-log")], swiftSettings: swiftSettings),
        // Helpers shared by test targets (deterministic noise).
        .target(name: "ParleyTestSupport", path: "Tests/ParleyTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "ParleyDSPTests", dependencies: ["ParleyDSP", "ParleyConfig", "ParleyTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyAudioTests", dependencies: ["ParleyAudio", "ParleyConfig", "ParleyTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyWebRTCTests", dependencies: [.target(name: "ParleyWebRTC", condition: .when(traits: ["WebRTC"]))],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ParleyCLibsTests", dependencies: ["CALSA", "CSpeexDSP", "COpus", "CCurl", "CGpiod", "CParleyShims", "CParleyLazy"]),
    ]
)
