/// What a device knows of its provisioning, kept in `$STATE_DIRECTORY/provisioning.json` so a
/// restart to apply a change (or to roll one back) carries on where the last process stopped.
public struct ProvisioningRecord: Codable, Sendable, Equatable {
    /// The files pulled, by source ("fleet", "device"), and their ETags: what is in force.
    public var etags: [String: String] = [:]
    /// The same for the last configuration the device was ready with.
    public var lastGoodETags: [String: String] = [:]
    /// What was rolled back: not applied again until the server has something else.
    public var failedETags: [String: String] = [:]
    /// Applied and not yet seen ready (Unix seconds): the rollback clock runs from here.
    public var pendingSince: Double?
    /// applied, unchanged, refused, rolled back, unreachable — and why.
    public var result: String = "none"
    public var reason: String = ""
    /// The last pull that reached the server (Unix seconds).
    public var lastPull: Double?

    public init() {}

    /// A file the device already had to roll back: pulling it again changes nothing.
    public func failedBefore(_ source: String, etag: String?) -> Bool {
        etag != nil && failedETags[source] == etag
    }

    /// One version string for status and reports: the ETags in force, fleet first.
    public var version: String {
        etags.isEmpty ? "none" : etags.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// Applied: the rollback clock starts.
    public mutating func applied(_ new: [String: String], at now: Double) {
        etags = new
        pendingSince = now
        result = "applying"
        reason = ""
    }

    /// The device reached ready with what is in force: that is the last good configuration.
    public mutating func confirmed() {
        guard pendingSince != nil else { return }
        pendingSince = nil
        lastGoodETags = etags
        result = "applied"
    }

    /// Whether the rollback is due: applied, not ready `after` seconds later.
    public func rollbackDue(now: Double, after: Double) -> Bool {
        pendingSince.map { now - $0 >= after } ?? false
    }

    public mutating func rolledBack(after: Double) {
        failedETags = etags
        etags = lastGoodETags
        pendingSince = nil
        result = "rolled back"
        reason = "not ready within \(Int(after)) s of applying it"
    }
}
