import ParleyRealtime
import ParleyTransport

/// What a function call produced: the text the model reads. A failure is an output too
/// (`{"error": …}`), so the model can explain it; `failed` only feeds logs and metrics.
public struct ToolResult: Sendable, Equatable {
    public var output: String
    public var failed: Bool

    public init(output: String, failed: Bool = false) {
        self.output = output
        self.failed = failed
    }

    /// A failure as the JSON object the model receives.
    public static func failure(_ message: String) -> ToolResult {
        ToolResult(output: JSONValue.object(["error": .string(message)]).text(), failed: true)
    }
}

/// The device as the controller saw it when the call came in (for `device_status`).
public struct DeviceSnapshot: Sendable {
    public var state: DeviceState
    public var stats: DeviceController.Stats
}

/// Runs the assistant's function calls. It must always return, within its own timeout.
public protocol ToolRunner: Sendable {
    func run(_ call: ToolCall, device: DeviceSnapshot) async -> ToolResult
}

/// No functions configured: any call is answered with an error the model can relay.
public struct NoTools: ToolRunner {
    public init() {}
    public func run(_ call: ToolCall, device: DeviceSnapshot) async -> ToolResult {
        .failure("unknown function \(call.name)")
    }
}
