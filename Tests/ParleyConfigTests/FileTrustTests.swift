import Glibc
import Testing
@testable import ParleyConfig

/// docs/CONFIG.md, "Who may write the configuration": each rule on real files.
@Suite struct FileTrustTests {
    let dir = TestDirectory()
    let root = FileTrust(trustedUsers: [0], trustedGroups: [0])

    func problem(_ trust: FileTrust, _ path: String) -> String? {
        trust.problem(path, source: .file(path: path, line: nil))?.message
    }

    @Test func aFileAndItsDirectoriesOwnedByRootAndWritableOnlyByItPass() {
        let file = dir.write("conf.d/10.toml", "")
        #expect(problem(root, file) == nil)
        #expect(problem(root, dir.path + "/conf.d") == nil)
        #expect(problem(root, dir.path + "/absent.toml") == nil)  // reading it says it is missing
    }

    @Test func anotherOwnerIsRefused() {
        let file = dir.write("10.toml", "")
        let stranger = FileTrust(trustedUsers: [4242], trustedGroups: [])
        #expect(problem(stranger, file)?.hasPrefix("owned by neither root nor the daemon's user (owner root (uid 0)") == true)
    }

    @Test func writableByOthersOrAnotherGroupIsRefused() {
        let file = dir.write("10.toml", "", mode: 0o646)
        #expect(problem(root, file)?.hasPrefix("writable by every user") == true)
        chmod(file, 0o664)
        #expect(problem(root, file) == nil)  // root's group
        #expect(problem(FileTrust(trustedUsers: [0], trustedGroups: []), file)?.hasPrefix("writable by a group not root's") == true)
    }

    @Test func aDirectoryOnTheWayCountsAndOnlyAStickyOneAboveMayBeWorldWritable() {
        let file = dir.write("conf.d/10.toml", "")
        chmod(dir.path, 0o777)
        #expect(problem(root, file) == "directory \(dir.path) on the way to it: writable by every user (owner root (uid 0), group root (gid 0), mode 0777); whoever can write it controls the device and its keys")
        chmod(dir.path, 0o1777)  // like /tmp: others cannot replace what they do not own
        #expect(problem(root, file) == nil)
        #expect(problem(root, dir.path)?.hasPrefix("writable by every user") == true)  // but not the directory itself
        chmod(dir.path, 0o700)
    }

    @Test func aSymlinkIsJudgedByWhereItLeads() {
        let file = dir.write("real/10.toml", "")
        chmod(dir.path + "/real", 0o777)
        symlink(file, dir.path + "/link.toml")
        #expect(problem(root, dir.path + "/link.toml")?.contains("directory \(dir.path)/real on the way") == true)
    }
}
