import CFuzzer
import Foundation
import ParleyFuzzing

// One binary for every target: $PARLEY_FUZZ_TARGET names it; the arguments are libFuzzer's.

let name = ProcessInfo.processInfo.environment["PARLEY_FUZZ_TARGET"] ?? ""
guard let chosen = FuzzTarget(rawValue: name) else {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    FileHandle.standardError.write(Data("ParleyFuzz: set PARLEY_FUZZ_TARGET to one of: \(names)\n".utf8))
    exit(2)
}
nonisolated(unsafe) var target = chosen

/// libFuzzer's callback (its archive also refers to it by this name).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    target.run(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
