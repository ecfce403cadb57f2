import CALSA

/// Audio failures the control plane reports (the audio threads only count).
public struct AudioError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable { case open, configure, start, thread, mixer }
    public let code: Code
    public let device: String
    public let detail: String

    init(_ code: Code, device: String, _ detail: String) {
        self.code = code
        self.device = device
        self.detail = detail
    }

    init(_ code: Code, device: String, alsa err: Int32, _ what: String) {
        self.init(code, device: device, "\(what): \(String(cString: snd_strerror(err)))")
    }

    public var description: String { "audio device \"\(device)\": \(detail)" }
}
