// The fuzz target: read → canonicalize → verify, on arbitrary bytes.
//
// `scripts/fuzz` builds this with `-sanitize=fuzzer -DCAUSEWAY_FUZZING`, and `main` hands control to
// libFuzzer's driver. A plain build makes a replay tool instead: `causeway-fuzz FILE|DIR…` runs
// saved inputs (a corpus, or a crash reproducer) through the same function.
import CausewayCore
import CausewayTrust
import Foundation

/// One input. Must never crash or hang, whatever the bytes.
func fuzzOne(_ bytes: [UInt8]) {
    let reader = JSONReader(limits: .init(maxBytes: 1 << 20, maxDepth: 64))
    guard let value = try? reader.read(bytes) else { return }
    // Canonical form is stable: canonicalizing the canonical text gives the same bytes.
    let canonical = JCS.canonicalize(value)
    guard let again = try? reader.read(canonical) else { fatalError("canonical output does not parse") }
    precondition(JCS.canonicalize(again) == canonical, "JCS is not idempotent")
    guard let agreement = try? Agreement(value) else { return }
    let report = AgreementVerifier().verify(agreement)
    _ = report.json
    if case .object(let object) = value, object["type"]?.stringValue == PurchaseAgreement.typeName {
        _ = PurchaseAgreement.check(object)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if CAUSEWAY_FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@main
enum FuzzDriver {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzTestOneInput(data, size) })
    }
}
#else
@main
enum Replay {
    static func main() {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("causeway-fuzz: \(argument): no such file\n".utf8))
                exit(2)
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { argument + "/" + $0 }
                : [argument]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                fuzzOne(Array(data))
                count += 1
            }
        }
        print("replayed \(count) inputs without a crash")
    }
}
#endif
