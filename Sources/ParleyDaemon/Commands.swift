import ArgumentParser
import Logging
import ParleyBoard
import ParleyConfig
import ParleyControlProtocol
import ParleyCore
import ParleyProvisioning
#if canImport(Glibc)
import Glibc
#endif

/// `parleyd`: runs the daemon; `parleyd check-config` explains the configuration.
public struct ParleydCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "parleyd",
        abstract: "Push-to-talk voice appliance daemon.",
        version: ParleyVersion.string,
        subcommands: [Run.self, CheckConfig.self, ConfigReference.self],
        defaultSubcommand: Run.self)

    public init() {}

    /// Parses the command line and runs the chosen command (async or not), exiting with its code.
    public static func launch() async -> Never {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit()
        } catch {
            exit(withError: error)
        }
    }
}

struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "Main configuration file (default /etc/parley/parley.toml).")
    var file: String?

    @Option(name: .customLong("config-dir"), help: "Drop-in directory (default: conf.d beside the main file).")
    var directory: String?

    var paths: ConfigPaths {
        var paths = ConfigPaths.system
        if file != nil || directory != nil {
            let main = file ?? ConfigPaths.system.mainFile
            let parent = main.contains("/") ? String(main[..<main.lastIndex(of: "/")!]) : "."
            paths = ConfigPaths(mainFile: main, dropInDirectory: directory ?? parent + "/conf.d", mainFileRequired: file != nil)
        }
        paths.provisionedDirectory = ConfigPaths.stateDirectory(environment: processEnvironment()) + "/provisioned"
        return paths
    }
}

func processEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") { result[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        pointer += 1
    }
    return result
}

/// An error before logging is set up (the configuration's), on stderr: at err priority in
/// the journal (each line `<3>`-prefixed when stderr is journald's stream), so
/// `journalctl -p err` shows why the service did not start.
func printError(_ text: String) {
    var lines = text.hasSuffix("\n") ? String(text.dropLast()) : text
    if ParleyLogHandler.detectFormat(environment: processEnvironment()) == .journal {
        lines = lines.split(separator: "\n", omittingEmptySubsequences: false).map { "<3>" + $0 }.joined(separator: "\n")
    }
    ParleyLogHandler.writeToStderr(lines + "\n")
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the daemon (the default).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let environment = processEnvironment()
        let config: LoadedConfig
        do {
            config = try LoadedConfig.load(paths: options.paths, environment: environment)
        } catch {
            printError("parleyd: \(error)")
            throw ExitCode(ConfigError.exitCode)
        }
        if let problem = WebRTCHandoff.execIfNeeded(config.settings, arguments: CommandLine.arguments) {
            printError("parleyd: \(problem)")
            throw ExitCode(ConfigError.exitCode)
        }
        let format: ParleyLogHandler.Format
        switch config.settings.logging.format {
        case .auto: format = ParleyLogHandler.detectFormat(environment: environment)
        case .journal: format = .journal
        case .plain: format = .plain
        case .json: format = .json
        }
        let shared = ParleyLogHandler.Shared(level: Logger.Level(rawValue: config.settings.logging.level) ?? .info,
                                             format: format, redactor: Redactor())
        LoggingSystem.bootstrap { ParleyLogHandler(label: $0, shared: shared) }
        let code = await Daemon(config: config, paths: options.paths, environment: environment, logShared: shared).run()
        if code != 0 { throw ExitCode(code) }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and print it with the source of every value (exit 0, or 78).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        do {
            let config = try LoadedConfig.load(paths: options.paths, environment: processEnvironment())
            // A WebRTC configuration is checked by the daemon that would run it.
            if let problem = WebRTCHandoff.execIfNeeded(config.settings, arguments: CommandLine.arguments) {
                throw CheckFailure(description: problem)
            }
            _ = try CueSounds(config.settings.board)  // the cue files, as the daemon will read them
            let (problems, notes) = offlineChecks(config.settings)
            for note in notes { printError("note: \(note)") }
            if !problems.isEmpty { throw CheckFailure(description: problems.joined(separator: "\n")) }
            print(ConfigReport.effective(config), terminator: "")
        } catch {
            printError("\(error)")
            throw ExitCode(ConfigError.exitCode)
        }
    }
}

/// What check-config adds to the configuration's own validation, and remote provisioning
/// checks a pulled file with: the GPIO chip and lines looked up as the daemon will claim them
/// (a missing line is a problem where the daemon would stop on it, `board.required`, else a
/// note; a chip not on this machine is a note, its lines unchecked: the config may be for
/// another device), WebRTC where the configuration needs it, and a session.update that fits
/// the WebRTC data channel.
func offlineChecks(_ settings: ParleySettings) -> (problems: [String], notes: [String]) {
    var problems: [String] = []
    var notes: [String] = []
    if settings.board.kind == .gpio {
        let gpio = GPIOBoard.check(settings.board)
        if case .chipNotFound? = gpio.first {
            notes.append("\(gpio[0]); its lines are not checked here")
        } else if !gpio.isEmpty {
            let text = gpio.map { "  \($0)" }.joined(separator: "\n")
            if settings.board.required {
                problems.append("the board cannot be used (board.required = true):\n\(text)\n"
                    + "    hint: fix board.chip / the *_line keys (gpioinfo lists chips and lines), or set board.required = false")
            } else {
                notes.append("the daemon runs without these (board.required = false):\n\(text)")
            }
        }
    }
    if let problem = WebRTCHandoff.missing(settings) { problems.append(problem) }
    if let problem = BackendFactory(settings: settings, logger: Logger(label: "check-config")).sessionProblem() {
        problems.append(problem)
    }
    if let problem = provisioningKeyProblem(settings) { problems.append(problem) }
    return (problems, notes)
}

/// With provisioning on, files the fleet's key did not sign are refused: a key that cannot be
/// read would refuse them all.
func provisioningKeyProblem(_ settings: ParleySettings) -> String? {
    guard settings.provisioning.url != nil, FleetKey(settings.provisioning.publicKey) == nil else { return nil }
    return "provisioning.public_key: not an Ed25519 public key\n"
        + "    hint: the base64 line of `openssl pkey -in fleet.pem -pubout` (docs/FLEET.md)"
}

struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}

struct ConfigReference: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-reference", abstract: "Print the key reference of docs/CONFIG.md.", shouldDisplay: false)

    func run() {
        print(ConfigReport.reference(), terminator: "")
    }
}
