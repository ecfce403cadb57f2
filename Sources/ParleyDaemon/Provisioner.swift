import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ParleyConfig
import ParleyHTTP
import ParleyProvisioning
import ServiceLifecycle
import Synchronization
import ParleyControlProtocol

/// Remote provisioning (docs/FLEET.md): pulls the fleet's signed configuration, applies what
/// verifies and validates, rolls back what does not bring the device to ready, and reports.
///
/// Files, under `$STATE_DIRECTORY` (the parley user's, so /etc stays read-only to the service):
/// `provisioned/10-fleet.toml` and `20-device.toml` (the layer between the main file and the
/// drop-ins), `provisioned.last-good/` (what the device was last ready with), and
/// `provisioning.json` (`ProvisioningRecord`).
actor Provisioner: Service {
    struct Source: Sendable {
        let name: String  // "fleet", "device"
        let remote: String  // default.toml, <device.id>.toml
        let file: String  // 10-fleet.toml, 20-device.toml
    }

    private let settings: ProvisioningSettings
    private let deviceID: String
    private let url: String
    private let key: FleetKey?
    private let paths: ConfigPaths
    private let environment: [String: String]
    private let stateDirectory: String
    private let http: HTTPClient
    private let logger: Logger
    private let sources: [Source]
    /// The running configuration (for what a change needs: a reload or a restart).
    private let running: @Sendable () -> LoadedConfig
    private let isReady: @Sendable () async -> Bool
    private let report: @Sendable () async -> (status: StatusReport, metrics: [String: Double])
    /// What status shows (`parleyctl status`), updated on every change of the record.
    private let shown: ProvisioningShown
    private let reload: @Sendable () async -> Void
    private(set) var record: ProvisioningRecord
    private var unreachableSince: ContinuousClock.Instant?
    /// Set when a change needs a restart: `run` returns and the group shuts down gracefully
    /// (exit 0; systemd's Restart=always starts the daemon again on the new files).
    private var restartReason: String?

    init?(settings: ParleySettings, paths: ConfigPaths, environment: [String: String], logger: Logger,
          running: @escaping @Sendable () -> LoadedConfig, isReady: @escaping @Sendable () async -> Bool,
          shown: ProvisioningShown, report: @escaping @Sendable () async -> (status: StatusReport, metrics: [String: Double]),
          reload: @escaping @Sendable () async -> Void) {
        guard let url = settings.provisioning.url, let provisioned = paths.provisionedDirectory else { return nil }
        self.settings = settings.provisioning
        deviceID = settings.device.id
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        key = FleetKey(settings.provisioning.publicKey)
        self.paths = paths
        self.environment = environment
        stateDirectory = Self.stateDirectory(of: provisioned)
        http = HTTPClient(caFile: settings.provisioning.caFile)
        self.logger = logger
        self.running = running
        self.isReady = isReady
        self.report = report
        self.shown = shown
        self.reload = reload
        sources = (settings.provisioning.fleetDefault ? [Source(name: "fleet", remote: "default.toml", file: "10-fleet.toml")] : [])
            + [Source(name: "device", remote: Self.pathSegment(settings.device.id) + ".toml", file: "20-device.toml")]
        record = Self.loadRecord(stateDirectory) ?? ProvisioningRecord()
        shown.set(record)
    }

    private var live: String { stateDirectory + "/provisioned" }
    private var lastGood: String { stateDirectory + "/provisioned.last-good" }
    private var candidate: String { stateDirectory + "/provisioned.new" }

    func run() async throws {
        guard key != nil else { return try await gracefulShutdown() }  // refused at start; not reached
        await cancelWhenGracefulShutdown { await self.loop() }
        if let restartReason { logger.notice("provisioning: restarting to apply \(restartReason)") }
    }

    private func loop() async {
        var nextPull = ContinuousClock.now
        while !Task.isCancelled && restartReason == nil {
            if ContinuousClock.now >= nextPull {
                await pull()
                await sendReport()
                if restartReason != nil { return }  // the running backend is not what was applied
                let jitter = Double.random(in: -0.1...0.1) * Double(settings.intervalSeconds)
                nextPull = .now + .milliseconds(Int((Double(settings.intervalSeconds) + jitter) * 1000))
            }
            await watchPending()
            do { try await Task.sleep(for: .milliseconds(250)) } catch { return }
        }
    }

    /// Whether `run` ended to restart the daemon (the group then shuts down gracefully).
    var wantsRestart: Bool { restartReason != nil }

    // MARK: pulling

    private func pull() async {
        var changed: [(Source, [UInt8]?, String?)] = []  // nil: the server no longer has it
        var etags = record.etags
        for source in sources {
            let local = live + "/" + source.file
            var headers: [(name: String, value: String)] = []
            if let etag = record.etags[source.name], FileManager.default.fileExists(atPath: local) {
                headers.append(("If-None-Match", etag))
            }
            let response: HTTPResponse
            do {
                response = try await http.perform(HTTPRequest(url: url + "/" + source.remote, headers: headers,
                                                              timeoutMilliseconds: 15_000, maximumResponseBytes: 256 * 1024))
            } catch {
                unreachable("\(error.reason)")
                return
            }
            reachable()
            switch response.status {
            case 304:
                continue
            case 200:
                let signature: HTTPResponse
                do {
                    signature = try await http.perform(HTTPRequest(url: url + "/" + source.remote + ".sig",
                                                                   timeoutMilliseconds: 15_000, maximumResponseBytes: 4096))
                } catch {
                    unreachable("\(error.reason)")
                    return
                }
                let verified: Bool
                do {
                    verified = try signature.status == 200 && key?.verifies(response.body, signature: signature.body) == true
                } catch {
                    return refuse("\(source.remote): the signature cannot be checked: \(error)")
                }
                guard verified else {
                    return refuse("\(source.remote): the signature \(signature.status == 200 ? "does not verify" : "is missing (HTTP \(signature.status))") with provisioning.public_key")
                }
                let etag = response.header("etag")
                if record.failedBefore(source.name, etag: etag) { continue }  // rolled back once: not again
                changed.append((source, response.body, etag))
                etags[source.name] = etag ?? "unversioned"
            case 404 where source.name == "fleet":
                // No fleet-wide file (any more): one the device still has is taken away.
                if FileManager.default.fileExists(atPath: local) {
                    changed.append((source, nil, nil))
                    etags[source.name] = nil
                }
            case 404:
                return settle("unchanged", "no \(source.remote) on the server")
            default:
                return refuse("\(source.remote): HTTP \(response.status)")
            }
        }
        record.lastPull = Date().timeIntervalSince1970
        guard !changed.isEmpty else {
            // Nothing new: what is in force, and how it got there, still stands.
            let standing = ["applied", "applying", "rolled back"].contains(record.result)
            return settle(standing ? record.result : "unchanged", standing ? record.reason : "")
        }
        await apply(changed, etags: etags)
    }

    /// Validates the pulled files with the local ones exactly as check-config does, then swaps
    /// them in (each an atomic rename) and reloads, or restarts for keys that need it.
    private func apply(_ changed: [(Source, [UInt8]?, String?)], etags: [String: String]) async {
        let files = FileManager.default
        try? files.removeItem(atPath: candidate)
        do {
            try files.createDirectory(atPath: candidate, withIntermediateDirectories: true)
            for source in sources where files.fileExists(atPath: live + "/" + source.file) {
                try files.copyItem(atPath: live + "/" + source.file, toPath: candidate + "/" + source.file)
            }
            for (source, body, _) in changed {
                try? files.removeItem(atPath: candidate + "/" + source.file)
                if let body { try Data(body).write(to: URL(fileURLWithPath: candidate + "/" + source.file)) }
            }
        } catch {
            return refuse("cannot stage the pulled files in \(candidate): \(error)")
        }
        var candidatePaths = paths
        candidatePaths.provisionedDirectory = candidate
        let loaded: LoadedConfig
        do {
            loaded = try LoadedConfig.load(paths: candidatePaths, environment: environment)
        } catch {
            try? files.removeItem(atPath: candidate)
            return refuse("the pulled configuration does not validate: \(error)")
        }
        let (problems, _) = offlineChecks(loaded.settings)
        guard problems.isEmpty else {
            try? files.removeItem(atPath: candidate)
            return refuse("the pulled configuration cannot run here: \(problems.joined(separator: "; "))")
        }
        let diff = ConfigDiff.between(running().effective, loaded.effective)
        do {
            try replace(lastGood, with: live)  // what the device runs now, to roll back to
            try files.createDirectory(atPath: live, withIntermediateDirectories: true)
            for (source, body, _) in changed {
                if body == nil {
                    _ = unlink(live + "/" + source.file)
                } else {
                    _ = rename(candidate + "/" + source.file, live + "/" + source.file)  // atomic, file by file
                }
            }
            try? files.removeItem(atPath: candidate)
        } catch {
            return refuse("cannot write \(live): \(error)")
        }
        record.applied(etags, at: Date().timeIntervalSince1970)
        save()
        logger.notice("provisioning: applied \(record.version)")
        if !diff.restart.isEmpty {
            restartReason = "\(record.version) (\(diff.restart.joined(separator: ", ")) take effect on a restart)"
        } else {
            await reload()
        }
    }

    // MARK: rollback

    private func watchPending() async {
        guard record.pendingSince != nil else { return }
        if await isReady() {
            record.confirmed()
            save()
            logger.notice("provisioning: ready with \(record.version)")
            await sendReport()
        } else if record.rollbackDue(now: Date().timeIntervalSince1970, after: Double(settings.rollbackAfterSeconds)) {
            let failed = record.version
            do { try replace(live, with: lastGood) } catch {
                logger.error("provisioning: cannot restore \(lastGood): \(error)")
            }
            record.rolledBack(after: Double(settings.rollbackAfterSeconds))
            save()
            logger.error("provisioning: \(failed) did not bring the device to ready within \(settings.rollbackAfterSeconds) s; restored \(record.version)")
            await sendReport()
            restartReason = "the rolled-back configuration"
        }
    }

    /// The daemon could not start on files just applied (a problem validation could not see
    /// offline): restores the last good ones so the next start — exit 1, which systemd
    /// restarts, unlike 78 — runs on them. False when nothing was pending.
    static func rollBackFailedStart(paths: ConfigPaths, why: String) -> Bool {
        guard let provisioned = paths.provisionedDirectory else { return false }
        let state = stateDirectory(of: provisioned)
        guard var record = loadRecord(state), record.pendingSince != nil else { return false }
        let files = FileManager.default
        try? files.removeItem(atPath: provisioned)
        if files.fileExists(atPath: provisioned + ".last-good") {
            guard (try? files.copyItem(atPath: provisioned + ".last-good", toPath: provisioned)) != nil else { return false }
        }
        record.rolledBack(after: 0)
        record.reason = "the daemon could not start with it: \(why)"
        return saveRecord(record, state)
    }

    /// The directory the provisioned files sit in.
    static func stateDirectory(of provisioned: String) -> String {
        String(provisioned[..<(provisioned.lastIndex(of: "/") ?? provisioned.endIndex)])
    }

    static func loadRecord(_ stateDirectory: String) -> ProvisioningRecord? {
        (try? Data(contentsOf: URL(fileURLWithPath: stateDirectory + "/provisioning.json")))
            .flatMap { try? JSONDecoder().decode(ProvisioningRecord.self, from: $0) }
    }

    @discardableResult
    static func saveRecord(_ record: ProvisioningRecord, _ stateDirectory: String) -> Bool {
        guard let data = try? JSONEncoder().encode(record) else { return false }
        return (try? data.write(to: URL(fileURLWithPath: stateDirectory + "/provisioning.json"), options: .atomic)) != nil
    }

    /// `target` becomes a copy of `source` (absent source: empty).
    private func replace(_ target: String, with source: String) throws {
        let files = FileManager.default
        let staging = target + ".tmp"
        try? files.removeItem(atPath: staging)
        if files.fileExists(atPath: source) {
            try files.copyItem(atPath: source, toPath: staging)
        } else {
            try files.createDirectory(atPath: staging, withIntermediateDirectories: true)
        }
        try? files.removeItem(atPath: target)
        try files.moveItem(atPath: staging, toPath: target)
    }

    // MARK: outcomes, reports

    private func refuse(_ why: String) {
        if record.result != "refused" || record.reason != why {
            logger.error("provisioning: refused: \(why); keeping \(record.version)")
        }
        settle("refused", why)
    }

    private func settle(_ result: String, _ reason: String) {
        record.result = result
        record.reason = reason
        record.lastPull = Date().timeIntervalSince1970
        save()
    }

    /// One line when the server stops answering, one when it answers again.
    private func unreachable(_ why: String) {
        if unreachableSince == nil {
            unreachableSince = .now
            logger.warning("provisioning: \(url) unreachable (\(why)); keeping \(record.version) and retrying every \(settings.intervalSeconds) s")
        }
        record.result = "unreachable"
        record.reason = why
        save()
    }

    private func reachable() {
        guard let since = unreachableSince else { return }
        unreachableSince = nil
        logger.notice("provisioning: \(url) reachable again after \(ContinuousClock.now - since)")
    }

    private func sendReport() async {
        guard unreachableSince == nil else { return }
        var (status, metrics) = await report()
        // What the technician said and heard stays on the device: the fleet sees state, not speech.
        status.lastUserTranscript = nil
        status.lastAssistantTranscript = nil
        let body = Report(device_id: deviceID, version: ParleyVersion.string, status: status, metrics: metrics,
                          provisioning: .init(applied: record.etags, result: record.result, reason: record.reason,
                                              pending: record.pendingSince != nil))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let data = try? encoder.encode(body) else { return }
        _ = try? await http.perform(HTTPRequest(
            method: "POST", url: url + "/" + Self.pathSegment(deviceID) + "/report",
            headers: [("Content-Type", "application/json")], body: Array(data), timeoutMilliseconds: 15_000))
    }

    private func save() {
        shown.set(record)
        Self.saveRecord(record, stateDirectory)
    }

    /// A device id as one URL path segment (machine ids are hex; configured ids may be anything).
    static func pathSegment(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) { out.append(c) } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// The provisioning record as status shows it, shared between the provisioner and the control socket.
final class ProvisioningShown: Sendable {
    private let record = Mutex<ProvisioningRecord?>(nil)
    func set(_ value: ProvisioningRecord) { record.withLock { $0 = value } }
    var current: ProvisioningRecord? { record.withLock { $0 } }
}

/// What a device reports to the fleet server (`POST …/<device>/report`).
private struct Report: Encodable {
    struct Provisioning: Encodable {
        let applied: [String: String]
        let result: String
        let reason: String
        let pending: Bool
    }

    let device_id: String
    let version: String
    let status: StatusReport
    let metrics: [String: Double]
    let provisioning: Provisioning
}
