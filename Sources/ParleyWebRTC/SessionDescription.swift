/// The few SDP facts a call needs, read and patched as text (pure).
public enum SessionDescription {
    /// The offer with every `a=fingerprint` line replaced by ours. webrtcbin 1.22 computes the
    /// fingerprint of a custom certificate wrongly (it hashes the key's PEM lines too), so the
    /// offer would otherwise advertise a certificate it never presents.
    public static func replacingFingerprint(in sdp: String, with fingerprint: String) -> String {
        lines(sdp).map { $0.hasPrefix("a=fingerprint:") ? "a=fingerprint:sha-256 \(fingerprint)" : $0 }
            .joined(separator: "\r\n") + "\r\n"
    }

    /// The SHA-256 fingerprints the answer announces (session or media level), upper case.
    /// nil when it announces none, or only other hash functions.
    public static func fingerprints(in sdp: String) -> Set<String>? {
        var found = Set<String>()
        for line in lines(sdp) where line.hasPrefix("a=fingerprint:") {
            let parts = line.dropFirst("a=fingerprint:".count).split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "sha-256" else { continue }
            found.insert(parts[1].filter { !$0.isWhitespace }.uppercased())
        }
        return found.isEmpty ? nil : found
    }

    private static func lines(_ sdp: String) -> [String] {
        sdp.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { String($0.filter { $0 != "\r" }) }
    }
}

import FoundationEssentials
