import ArgumentParser
import FoundationEssentials
import ParleyControlProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `parleyctl`: talks to a running parleyd over its control socket.
struct ParleyCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parleyctl",
        abstract: "Control a running parleyd: status, push-to-talk, typed turns, volume, mute.",
        version: ParleyVersion.string,
        subcommands: [Status.self, PTT.self, ButtonCommand.self, Say.self, Volume.self, Mute.self, Reconnect.self, Metrics.self],
        defaultSubcommand: Status.self)

    /// `--socket PATH` and `--json` are taken before the subcommand too (`parleyctl --socket
    /// /run/parley/control.sock ptt tap`), as people type them: ArgumentParser reads a
    /// subcommand's options only after its name, so they are moved there.
    static func reordered(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if first == "--socket" && rest.count >= 2 {
                leading += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--socket=") || first == "--json" {
                leading.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        guard let subcommand = rest.first, !subcommand.hasPrefix("-") else { return leading + rest }
        return [subcommand] + rest.dropFirst() + leading
    }
}

struct Connection: ParsableArguments {
    @Option(help: "The daemon's control socket (control.socket in its config).")
    var socket: String = ProcessInfo.processInfo.environment["PARLEY_CONTROL_SOCKET"] ?? "/run/parley/control.sock"

    @Flag(help: "Print the daemon's JSON reply instead of text.")
    var json = false

    /// Sends one request, prints the reply; exits non-zero when the daemon says no or is unreachable.
    func run(_ request: ControlRequest, human: (ControlReply) -> String) throws {
        let reply: ControlReply
        do {
            reply = try ControlClient(path: socket).send(request)
        } catch {
            standardError("parleyctl: \(error)\n")
            throw ExitCode(69)  // EX_UNAVAILABLE
        }
        if json {
            print(String(decoding: reply.encoded(), as: UTF8.self))
        } else if reply.ok {
            print(human(reply))
        }
        if !reply.ok {
            if !json { standardError("parleyctl: \(reply.error ?? "failed")\n") }
            throw ExitCode(1)
        }
    }
}

extension ParleyCtl {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "States, backend, audio devices, xruns, last turn.")
        @OptionGroup var connection: Connection
        func run() throws { try connection.run(.status) { $0.status.map(StatusText.render) ?? "" } }
    }

    struct PTT: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ptt", abstract: "Press, release or tap the push-to-talk button.")
        @Argument(help: "press, release or tap") var action: ControlRequest.PTTAction
        @OptionGroup var connection: Connection
        func run() throws { try connection.run(.ptt(action)) { $0.message ?? "ok" } }
    }

    struct ButtonCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "button",
                                                        abstract: "Press, release or tap a volume or cancel button.")
        @Argument(help: "volume_up, volume_down or cancel") var button: ControlRequest.BoardButton
        @Argument(help: "press, release or tap") var action: ControlRequest.PTTAction = .tap
        @OptionGroup var connection: Connection
        func run() throws { try connection.run(.button(button, action)) { $0.message ?? "ok" } }
    }

    struct Say: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A typed turn: the assistant answers out loud.")
        @Argument(help: "What to say.") var words: [String]
        @OptionGroup var connection: Connection
        func run() throws { try connection.run(.say(words.joined(separator: " "))) { $0.message ?? "ok" } }
    }

    struct Volume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Speaker volume in percent (until restart or reload).")
        @Argument(help: "0 to 100") var percent: Int
        @OptionGroup var connection: Connection
        func validate() throws {
            guard (0...100).contains(percent) else { throw ValidationError("volume is 0 to 100, not \(percent)") }
        }
        func run() throws { try connection.run(.volume(percent: percent)) { $0.message ?? "ok" } }
    }

    struct Mute: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mute the microphone (on) or unmute it (off).")
        @Argument(help: "on or off") var state: OnOff
        @OptionGroup var connection: Connection
        func run() throws { try connection.run(.mute(state == .on)) { $0.message ?? "ok" } }
    }

    struct Reconnect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop the backend connection and connect again.")
        @OptionGroup var connection: Connection
        func run() throws { try connection.run(.reconnect) { $0.message ?? "ok" } }
    }

    struct Metrics: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counters and gauges.")
        @OptionGroup var connection: Connection
        func run() throws {
            try connection.run(.metrics) { reply in
                (reply.metrics ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \(StatusText.number($0.value))" }
                    .joined(separator: "\n")
            }
        }
    }
}

private func standardError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

enum OnOff: String, ExpressibleByArgument, CaseIterable { case on, off }
extension ControlRequest.PTTAction: ExpressibleByArgument {}
extension ControlRequest.BoardButton: ExpressibleByArgument {}

/// parleyctl's entry point: the `parleyctl` executable's, and `parleyd`'s when it is called
/// `parleyctl` (the package installs one binary and a symlink).
public enum ParleyCtlMain {
    public static func launch() -> Never {
        ParleyCtl.main(ParleyCtl.reordered(Array(CommandLine.arguments.dropFirst())))
        exit(0)
    }
}
