import CEspeak
import CParleyLazy
import Dispatch
import ParleyDSP
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Text → 24 kHz mono PCM16 on the device, with libespeak-ng (Debian's espeak-ng).
/// Synthesis runs on this object's serial queue, never on the caller's thread. libespeak-ng
/// keeps its voice and output state per process, so every synthesizer shares one lock
/// around it; the daemon makes one.
public final class SpeechSynthesizer: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static let outputRate = 24_000
    private static let library = Mutex(())

    private let queue = DispatchQueue(label: "parley.speech")
    private let voice: String
    private let wordsPerMinute: Int
    private let sourceRate: Int

    public init(voice: String, wordsPerMinute: Int) throws(Failure) {
        self.voice = voice
        self.wordsPerMinute = wordsPerMinute
        let rate = Self.library.withLock { _ -> Int32 in
            espeak_ng_InitializePath(nil)
            guard espeak_ng_Initialize(nil) == ENS_OK,
                  espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, nil) == ENS_OK else { return 0 }
            return espeak_ng_GetSampleRate()
        }
        guard rate > 0 else {
            // CParleyLazy opens libespeak-ng here: when it could not, say why rather than guess.
            if let why = CParley_lazy_failure(CParleyLazyEspeak) { throw Failure(description: "libespeak-ng could not be opened: \(String(cString: why))") }
            throw Failure(description: "libespeak-ng did not initialize (is espeak-ng-data installed?)")
        }
        sourceRate = Int(rate)
        let known = Self.library.withLock { _ in espeak_ng_SetVoiceByName(voice) == ENS_OK }
        guard known else {
            throw Failure(description: "espeak-ng has no voice \"\(voice)\" (list them with: espeak-ng --voices)")
        }
    }

    /// The samples of `text` spoken, at `outputRate`. Empty for text with nothing to say.
    public func synthesize(_ text: String) async -> [Int16] {
        await withCheckedContinuation { continuation in
            queue.async { [self] in continuation.resume(returning: render(text)) }
        }
    }

    private func render(_ text: String) -> [Int16] {
        let sink = Sink()
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        Self.library.withLock { _ in
            espeak_SetSynthCallback(collect)
            _ = espeak_ng_SetVoiceByName(voice)
            _ = espeak_ng_SetParameter(espeakRATE, Int32(wordsPerMinute), 0)
            text.withCString { characters in
                _ = espeak_ng_Synthesize(characters, strlen(characters) + 1, 0, POS_CHARACTER, 0,
                                         UInt32(espeakCHARS_UTF8), nil, context.toOpaque())
            }
        }
        return Resampler.convert(sink.samples, from: sourceRate, to: Self.outputRate)
    }
}

/// Where one synthesis call's samples go; reached through the event's user_data, not a global.
private final class Sink {
    var samples: [Int16] = []
}

private func collect(_ wav: UnsafeMutablePointer<Int16>?, _ count: Int32,
                     _ events: UnsafeMutablePointer<espeak_EVENT>?) -> Int32 {
    guard let events, let user = events.pointee.user_data else { return 0 }
    let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
    if let wav, count > 0 { sink.samples.append(contentsOf: UnsafeBufferPointer(start: wav, count: Int(count))) }
    return 0  // 0: go on
}
