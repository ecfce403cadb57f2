import COpenSSL
import CParleyLazy

/// The fleet's Ed25519 public key, and the check that a pulled file is what the fleet signed
/// (OpenSSL's libcrypto, EVP_DigestVerify). Operators sign with
/// `openssl pkeyutl -sign -rawin -inkey fleet.pem -in <file> -out <file>.sig`.
public struct FleetKey: Sendable, Equatable {
    /// The 32 raw bytes.
    public let raw: [UInt8]

    /// DER of an Ed25519 SubjectPublicKeyInfo before its 32 key bytes (RFC 8410).
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// From the base64 line of `openssl pkey -pubout` (the SPKI), the whole PEM, or the raw
    /// 32 bytes in base64; nil when it is none of those.
    public init?(_ text: String) {
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let bytes = Base64.decode(body) else { return nil }
        if bytes.count == 32 {
            raw = bytes
        } else if bytes.count == 44 && Array(bytes.prefix(12)) == Self.spkiPrefix {
            raw = Array(bytes.suffix(32))
        } else {
            return nil
        }
    }

    /// libcrypto could not be opened: the device lacks a dependency, the file may be fine.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether `signature` (64 bytes, raw or in base64) is this key's over `message`.
    public func verifies(_ message: [UInt8], signature: [UInt8]) throws(Unavailable) -> Bool {
        let bytes: [UInt8]
        if signature.count == 64 {
            bytes = signature
        } else if let decoded = Base64.decode(String(decoding: signature, as: UTF8.self).filter { !$0.isWhitespace }),
                  decoded.count == 64 {
            bytes = decoded
        } else {
            return false
        }
        guard let key = raw.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) })
        else {
            if let why = CParley_lazy_failure(CParleyLazyCrypto) {
                throw Unavailable(description: "libcrypto could not be opened (\(String(cString: why))): install libssl3")
            }
            return false
        }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        return bytes.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                EVP_DigestVerify(context, sig.baseAddress, sig.count, msg.baseAddress, msg.count) == 1
            }
        }
    }
}

/// Standard base64 (RFC 4648, padding optional), without Foundation.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for scalar in text.unicodeScalars {
            let value: UInt32
            switch scalar {
            case "A"..."Z": value = scalar.value - 65
            case "a"..."z": value = scalar.value - 97 + 26
            case "0"..."9": value = scalar.value - 48 + 52
            case "+": value = 62
            case "/": value = 63
            case "=": continue
            default: return nil
            }
            buffer = buffer << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }
}
