import Glibc

/// A scratch directory with helpers to write config and secret files.
final class TestDirectory {
    let path: String

    init() {
        var template = Array("/tmp/parley-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { _ = system("rm -rf '\(path)'") }

    @discardableResult
    func write(_ name: String, _ text: String, mode: mode_t = 0o644) -> String {
        let full = path + "/" + name
        if let slash = full.lastIndex(of: "/") { _ = mkdir(String(full[..<slash]), 0o755) }
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, mode)
        precondition(fd >= 0, "cannot create \(full)")
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        chmod(full, mode)
        return full
    }

    var paths: ConfigPathsForTest { .init(main: path + "/parley.toml", dropIns: path + "/conf.d") }
}

struct ConfigPathsForTest {
    let main: String
    let dropIns: String
}
