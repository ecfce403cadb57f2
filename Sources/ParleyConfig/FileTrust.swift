#if canImport(Glibc)
import Glibc
private typealias GroupEntry = Glibc.group
#elseif canImport(Musl)
import Musl
private typealias GroupEntry = Musl.group
#endif

/// Who may have written what the daemon reads its configuration and secrets from, checked
/// as sshd's StrictModes checks a home directory: anyone who can write a config file, a
/// drop-in, a secret file or a directory on the way to one can point the daemon (and its
/// keys) at their own server. Each of them, resolved through symlinks, and every directory
/// up to `/` must be owned by root or the daemon's user, writable by no other user, and
/// writable by a group only if that group is root's or a trusted user's own private group.
/// A directory above the checked one that is world-writable with the sticky bit (`/tmp`) is
/// fine: others cannot rename or replace what they do not own in it.
struct FileTrust {
    /// root, the user running this, and the `parley` user the unit runs the daemon as, so
    /// `sudo parleyd check-config` judges files as the service will.
    let trustedUsers: Set<uid_t>
    /// Groups whose write permission is harmless: root's, and trusted users' private groups.
    let trustedGroups: Set<gid_t>

    static let serviceUser = "parley"

    init(trustedUsers: Set<uid_t>, trustedGroups: Set<gid_t>) {
        self.trustedUsers = trustedUsers
        self.trustedGroups = trustedGroups
    }

    /// For this process.
    static var current: FileTrust {
        var users: Set<uid_t> = [0, geteuid()]
        if let service = Account.user(named: serviceUser) { users.insert(service.uid) }
        var groups: Set<gid_t> = [0]
        for uid in users where uid != 0 {
            if let user = Account.user(id: uid), let group = Account.group(id: user.gid),
               group.members.allSatisfy({ $0 == user.name }) {
                groups.insert(user.gid)
            }
        }
        return FileTrust(trustedUsers: users, trustedGroups: groups)
    }

    /// The first thing on the way to `path` (itself included) that others could have written,
    /// as a problem to report against `source`; nil when it and its directories are trusted,
    /// or when `path` does not exist (reading it says so).
    func problem(_ path: String, source: ConfigSource, key: String = "") -> ConfigProblem? {
        guard let resolved = Self.realPath(path) else { return nil }
        var current = resolved
        var first = true
        while true {
            var st = stat()
            guard stat(current, &st) == 0 else { return nil }
            let mode = st.st_mode & 0o7777
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            let stickyAbove = !first && isDirectory && mode & S_ISVTX != 0
            var who: String?
            if !trustedUsers.contains(st.st_uid) {
                who = "owned by neither root nor the daemon's user"
            } else if mode & 0o002 != 0 && !stickyAbove {
                who = "writable by every user"
            } else if mode & 0o020 != 0 && !trustedGroups.contains(st.st_gid) && !stickyAbove {
                who = "writable by a group not root's"
            }
            if let who {
                let what = current == resolved ? "" : "directory \(current) on the way to it: "
                let fix = trustedUsers.contains(st.st_uid)
                    ? "`chmod go-w \(current)`" : "`chown root:root \(current) && chmod go-w \(current)`"
                return ConfigProblem(
                    .untrusted, source: source, key: key,
                    "\(what)\(who) (owner \(Account.userName(st.st_uid)), group \(Account.groupName(st.st_gid)), "
                        + "mode 0\(String(mode, radix: 8))); whoever can write it controls the device and its keys",
                    hint: "\(fix) (root owns the configuration; the parley user only reads it)")
            }
            if current == "/" { return nil }
            current = Self.parent(current)
            first = false
        }
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Users and groups by id or name (getpwuid_r and friends: reentrant, no Foundation).
enum Account {
    struct User { let name: String; let uid: uid_t; let gid: gid_t }
    struct Group { let name: String; let members: [String] }

    static func user(id: uid_t) -> User? { lookUser { getpwuid_r(id, &$0, $1, $2, &$3) } }
    static func user(named name: String) -> User? { lookUser { getpwnam_r(name, &$0, $1, $2, &$3) } }

    private static func lookUser(
        _ call: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> User? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc = buffer.withUnsafeMutableBufferPointer { call(&entry, $0.baseAddress!, $0.count, &result) }
        guard rc == 0, result != nil else { return nil }
        return User(name: String(cString: entry.pw_name), uid: entry.pw_uid, gid: entry.pw_gid)
    }

    static func group(id: gid_t) -> Group? {
        var entry = GroupEntry()
        var result: UnsafeMutablePointer<GroupEntry>?
        var buffer = [CChar](repeating: 0, count: 65536)
        let rc = buffer.withUnsafeMutableBufferPointer { getgrgid_r(id, &entry, $0.baseAddress!, $0.count, &result) }
        guard rc == 0, result != nil else { return nil }
        var members: [String] = []
        if var member = entry.gr_mem {
            while let name = member.pointee {
                members.append(String(cString: name))
                member += 1
            }
        }
        return Group(name: String(cString: entry.gr_name), members: members)
    }

    static func userName(_ uid: uid_t) -> String { user(id: uid).map { "\($0.name) (uid \(uid))" } ?? "uid \(uid)" }
    static func groupName(_ gid: gid_t) -> String { group(id: gid).map { "\($0.name) (gid \(gid))" } ?? "gid \(gid)" }
}
