/// Where the unit's `LoadCredential=` lines say each credential comes from, for reading a
/// `*_credential` key outside the service (`sudo parleyd check-config` before
/// `systemctl start`), where systemd has not set `$CREDENTIALS_DIRECTORY`. Reads the unit and
/// its drop-ins as systemd would find them: /etc, /run, /usr/lib and /lib (or the directories
/// in `$SYSTEMD_UNIT_PATH`, as systemd's own tools honour it), drop-ins in lexical order.
struct UnitCredentials {
    static let unit = "parleyd.service"
    static let defaultUnitPath = ["/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
                                  "/usr/lib/systemd/system", "/lib/systemd/system"]
    /// Where a relative LoadCredential= source, or a bare name, is looked up (systemd.exec(5)).
    static let credentialStores = ["/etc/credstore", "/run/credstore", "/usr/local/lib/credstore", "/usr/lib/credstore"]

    /// Credential name → source path, from the unit texts in the order systemd applies them.
    static func sources(_ texts: [String], exists: (String) -> Bool = { (try? SystemFiles.status($0)) != nil })
        -> [String: String]
    {
        var sources: [String: String] = [:]
        for text in texts {
            var inService = false
            for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let line = String(raw).trimmingSpaces
                if line.hasPrefix("[") { inService = line == "[Service]"; continue }
                guard inService, line.hasPrefix("LoadCredential=") else { continue }
                let value = String(line.dropFirst("LoadCredential=".count)).trimmingSpaces
                if value.isEmpty { sources.removeAll(); continue }  // an empty assignment resets the list
                let parts = value.split(separator: ":", maxSplits: 1)
                let name = String(parts[0])
                let given = parts.count > 1 ? String(parts[1]) : name
                if given.hasPrefix("/") {
                    sources[name] = given
                } else {
                    let candidates = credentialStores.map { $0 + "/" + given }
                    sources[name] = candidates.first(where: exists) ?? candidates[0]
                }
            }
        }
        return sources
    }

    /// The unit file and its drop-ins as systemd would apply them, from `searchPath`.
    static func texts(searchPath: [String]) -> [String] {
        var texts: [String] = []
        if let main = searchPath.lazy.compactMap({ try? SystemFiles.read($0 + "/" + unit) }).first { texts.append(main) }
        var dropIns: [String: String] = [:]  // name → path: the first directory in the search path wins
        for directory in searchPath.reversed() {
            let dir = directory + "/" + unit + ".d"
            for name in (try? SystemFiles.list(dir)) ?? [] where name.hasSuffix(".conf") { dropIns[name] = dir + "/" + name }
        }
        for name in dropIns.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            if let text = try? SystemFiles.read(dropIns[name]!) { texts.append(text) }
        }
        return texts
    }

    static func searchPath(environment: [String: String]) -> [String] {
        guard let custom = environment["SYSTEMD_UNIT_PATH"], !custom.isEmpty else { return defaultUnitPath }
        return custom.split(separator: ":").map(String.init)
    }
}
