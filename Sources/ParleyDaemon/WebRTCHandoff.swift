import ParleyConfig
#if canImport(Glibc)
import Glibc
#endif

/// The package's parleyd is built without WebRTC, so a device on the WebSocket and HTTP
/// backends maps no GStreamer library. A configuration that needs WebRTC hands the process
/// over to `parleyd-webrtc` (the parley-webrtc package: the same daemon built with the
/// trait) with execv: same PID, same arguments and environment, so systemd's notify socket,
/// watchdog and credentials carry over and nothing else has been started yet.
enum WebRTCHandoff {
    /// Where the parley-webrtc package puts it, beside this executable's
    /// directory (/usr/bin/parleyd → /usr/lib/parley/parleyd-webrtc).
    static let relativePath = "lib/parley/parleyd-webrtc"

    /// Whether `settings` need a WebRTC call (a kind on one, or agent_routes with media = webrtc).
    static func needed(_ settings: ParleySettings) -> Bool {
        switch settings.backend.kind {
        case .openaiWebRTC, .office, .training: true
        case .agentRoutes: settings.backend.relay.media == "webrtc"
        default: false
        }
    }

    /// The helper this executable would hand over to, when it exists and may be run.
    static func helper() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, Int(PATH_MAX))
        guard length > 0 else { return nil }
        let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directories = executable.split(separator: "/").dropLast(2)  // the file, then bin
        let path = "/" + (directories + [Substring(relativePath)]).joined(separator: "/")
        return access(path, X_OK) == 0 ? path : nil
    }

    /// Why `settings` cannot run here: this build has no WebRTC, they need it, and no helper
    /// is installed (check-config's and provisioning's offline check).
    static func missing(_ settings: ParleySettings) -> String? {
        !BackendFactory.hasWebRTC && needed(settings) && helper() == nil ? unavailable(settings) : nil
    }

    /// Execs the helper when this build has no WebRTC and `settings` need it; returns (with
    /// the reason) only when it cannot.
    static func execIfNeeded(_ settings: ParleySettings, arguments: [String]) -> String? {
        guard !BackendFactory.hasWebRTC, needed(settings) else { return nil }
        guard let path = helper() else { return unavailable(settings) }
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments.dropFirst()).map { strdup($0) }
        argv.append(nil)
        execv(path, argv)
        let reason = String(cString: strerror(errno))
        return "\(key(settings)): \(path) could not be started (\(reason)); reinstall parley-webrtc"
    }

    /// What a configuration needing WebRTC is told when this build cannot hand it over.
    static func unavailable(_ settings: ParleySettings) -> String {
        "\(key(settings)) needs WebRTC, which this parleyd does not have and whose helper (parleyd-webrtc) is not installed\n"
            + "    hint: apt install parley-webrtc (or build with the WebRTC trait), or choose a backend without WebRTC"
    }

    /// The key that asks for WebRTC.
    private static func key(_ settings: ParleySettings) -> String {
        settings.backend.kind == .agentRoutes
            ? "backend.agent_routes.media = \"webrtc\"" : "backend.kind = \"\(settings.backend.kind.rawValue)\""
    }
}
