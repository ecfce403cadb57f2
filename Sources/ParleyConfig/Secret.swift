/// A secret read from a file or a systemd credential. Printing it never shows the value;
/// `reveal()` is the one way to it, for the code that puts it on the wire.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Where it came from, safe to log: "file /etc/parley/openai.key" or "credential openai-key".
    public let origin: String
    private let value: String

    public init(origin: String, value: String) {
        self.origin = origin
        self.value = value
    }

    public func reveal() -> String { value }
    public var byteCount: Int { value.utf8.count }
    public var description: String { "<redacted secret from \(origin)>" }
    public var debugDescription: String { description }
}

/// Reads secrets by reference and refuses files others could read.
struct SecretReader {
    let credentialsDirectory: String?
    let trust: FileTrust
    /// Outside the service: the unit's LoadCredential= sources (`UnitCredentials`).
    var unitCredentials: [String: String] = [:]

    func read(file path: String, source: ConfigSource, key: String) -> Result<Secret, ConfigProblem> {
        let status: SystemFiles.Status
        do {
            status = try SystemFiles.status(path)
        } catch {
            return .failure(ConfigProblem(.secret, source: source, key: key, "cannot read secret file: \(error)",
                                          hint: "create it with the secret alone on one line, then `chmod 600 \(path)`"))
        }
        if status.permissions & 0o077 != 0 {
            let mode = String(status.permissions, radix: 8)
            return .failure(ConfigProblem(
                .secret, source: source, key: key,
                "secret file \(path) is readable by group or others (mode 0\(mode))",
                hint: "`chmod 600 \(path)` (owner parley), or use a systemd credential"))
        }
        if let untrusted = trust.problem(path, source: source, key: key) { return .failure(untrusted) }
        return readValue(path, origin: "file \(path)", source: source, key: key)
    }

    func read(credential name: String, source: ConfigSource, key: String) -> Result<Secret, ConfigProblem> {
        guard !name.contains("/") else {
            return .failure(ConfigProblem(.secret, source: source, key: key, "credential name contains '/'",
                                          hint: "use the name given to LoadCredential=, without a path"))
        }
        guard let directory = credentialsDirectory, !directory.isEmpty else {
            // Outside the service (`sudo parleyd check-config`): read what systemd will hand over.
            guard let path = unitCredentials[name] else {
                return .failure(ConfigProblem(
                    .secret, source: source, key: key,
                    "credential \"\(name)\": no $CREDENTIALS_DIRECTORY (systemd sets it for the service), and \(UnitCredentials.unit) has no LoadCredential=\(name):… to read it from",
                    hint: "add `LoadCredential=\(name):/etc/parley/credentials/\(name)` to the unit (`systemctl edit parleyd`), or use the *_file key instead"))
            }
            let origin = "credential \(name) (\(path), from the unit's LoadCredential=)"
            if let untrusted = trust.problem(path, source: source, key: key) { return .failure(untrusted) }
            if let status = try? SystemFiles.status(path), status.permissions & 0o077 != 0 {
                return .failure(ConfigProblem(
                    .secret, source: source, key: key,
                    "\(origin) is readable by group or others (mode 0\(String(status.permissions, radix: 8)))",
                    hint: "`chmod 600 \(path)`: systemd reads it as root and hands the service its own copy"))
            }
            return readValue(path, origin: origin, source: source, key: key)
        }
        return readValue(directory + "/" + name, origin: "credential \(name)", source: source, key: key)
    }

    private func readValue(_ path: String, origin: String, source: ConfigSource, key: String)
        -> Result<Secret, ConfigProblem>
    {
        do {
            let value = try SystemFiles.read(path).trimmingSpaces
            guard !value.isEmpty else {
                return .failure(ConfigProblem(.secret, source: source, key: key, "\(origin) is empty",
                                              hint: "write the secret into it"))
            }
            return .success(Secret(origin: origin, value: value))
        } catch {
            return .failure(ConfigProblem(.secret, source: source, key: key, "cannot read \(origin): \(error)",
                                          hint: "check that it exists and the parley user can read it"))
        }
    }
}
