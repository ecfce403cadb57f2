import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Who may use the control socket, checked on each connection from the peer's credentials
/// (SO_PEERCRED), beside the socket file's mode: root, the daemon's own user, and members of
/// the socket's group (control.group, or the daemon's group). A socket left world-writable
/// by a wrong control.mode still refuses everyone else.
struct ControlAccess: Sendable {
    let ownUser: uid_t
    let socketGroup: gid_t
    let groupName: String

    init(group: String?) {
        ownUser = geteuid()
        if let group, !group.isEmpty, let entry = getgrnam(group) {
            socketGroup = entry.pointee.gr_gid
            groupName = group
        } else {
            socketGroup = getegid()
            groupName = getgrgid(getegid()).map { String(cString: $0.pointee.gr_name) } ?? "\(getegid())"
        }
    }

    /// nil: allowed; else why not, for the reply and the log line.
    func refusal(uid: uid_t, gid: gid_t) -> String? {
        if uid == 0 || uid == ownUser || gid == socketGroup || Self.groups(of: uid).contains(socketGroup) { return nil }
        return "uid \(uid) is not root, the daemon's user or in group \(groupName) (control.group)"
    }

    /// The peer's uid and gid, from the kernel.
    static func peer(of channel: any Channel) async throws -> (uid: uid_t, gid: gid_t) {
        guard let provider = channel as? any SocketOptionProvider else { throw ChannelError.operationUnsupported }
        // struct ucred (pid, uid, gid), which Glibc's module map leaves out (_GNU_SOURCE).
        let credentials: (pid: pid_t, uid: uid_t, gid: gid_t) = try await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
        return (credentials.uid, credentials.gid)
    }

    /// A user's supplementary groups (the peer's primary gid comes with its credentials).
    private static func groups(of uid: uid_t) -> [gid_t] {
        guard let user = getpwuid(uid) else { return [] }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        guard getgrouplist(user.pointee.pw_name, user.pointee.pw_gid, &groups, &count) >= 0 else { return [] }
        return Array(groups.prefix(Int(count)))
    }
}
