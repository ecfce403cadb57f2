import Testing
@testable import ParleyProvisioning

/// RFC 8032's test vector 2 (one-byte message 0x72) and a key as `openssl pkey -pubout` prints it.
@Suite struct FleetKeyTests {
    static let publicHex = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
    static let signatureHex = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"

    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map {
            UInt8(hex[hex.index(hex.startIndex, offsetBy: $0)..<hex.index(hex.startIndex, offsetBy: $0 + 2)], radix: 16)!
        }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        for chunk in stride(from: 0, to: bytes.count, by: 3) {
            let b = Array(bytes[chunk..<min(chunk + 3, bytes.count)]) + [0, 0]
            let n = UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2])
            let count = min(3, bytes.count - chunk)
            for i in 0..<4 { out.append(i <= count ? alphabet[Int(n >> UInt32(18 - 6 * i) & 63)] : "=") }
        }
        return out
    }

    @Test func theRFC8032VectorVerifiesAndAnythingElseDoesNot() throws {
        let key = try #require(FleetKey(Self.base64(Self.bytes(Self.publicHex))))
        let signature = Self.bytes(Self.signatureHex)
        #expect(try key.verifies([0x72], signature: signature))
        #expect(try key.verifies([0x72], signature: Array(Self.base64(signature).utf8)))  // a base64 .sig
        #expect(try !key.verifies([0x73], signature: signature))  // another message
        var forged = signature
        forged[10] ^= 1
        #expect(try !key.verifies([0x72], signature: forged))
        #expect(try !key.verifies([0x72], signature: Array(signature.prefix(63))))
    }

    @Test func theKeyIsReadAsOpenSSLPrintsItOrRaw() throws {
        let spki = FleetKey.spkiPrefix + Self.bytes(Self.publicHex)
        let pem = "-----BEGIN PUBLIC KEY-----\n\(Self.base64(spki))\n-----END PUBLIC KEY-----\n"
        #expect(FleetKey(pem)?.raw == Self.bytes(Self.publicHex))
        #expect(FleetKey(Self.base64(spki))?.raw == Self.bytes(Self.publicHex))
        #expect(FleetKey("not a key") == nil)
        #expect(FleetKey(Self.base64([UInt8](repeating: 1, count: 31))) == nil)
        #expect(FleetKey("") == nil)
    }
}

@Suite struct ProvisioningRecordTests {
    @Test func appliedThenReadyBecomesTheLastGood() {
        var record = ProvisioningRecord()
        record.applied(["device": "\"v2\""], at: 1000)
        #expect(record.result == "applying" && !record.rollbackDue(now: 1119, after: 120))
        record.confirmed()
        #expect(record.lastGoodETags == ["device": "\"v2\""] && record.pendingSince == nil && record.result == "applied")
        #expect(!record.rollbackDue(now: 5000, after: 120))
    }

    @Test func notReadyInTimeIsRolledBackAndNeverAppliedAgain() {
        var record = ProvisioningRecord()
        record.applied(["device": "\"v1\""], at: 0)
        record.confirmed()
        record.applied(["device": "\"v2\""], at: 1000)
        #expect(record.rollbackDue(now: 1120, after: 120))
        record.rolledBack(after: 120)
        #expect(record.etags == ["device": "\"v1\""] && record.result == "rolled back")
        #expect(record.reason == "not ready within 120 s of applying it")
        #expect(record.failedBefore("device", etag: "\"v2\""))
        #expect(!record.failedBefore("device", etag: "\"v3\"") && !record.failedBefore("device", etag: nil))
        #expect(record.version == "device \"v1\"")
    }
}
