import CausewayCore
import CausewayTrust
import Crypto
import Foundation
import Testing

/// C2SP signed-note, tlog-checkpoint and tlog-cosignature/v1.
@Suite("Signed notes, checkpoints and cosignatures (C2SP)")
struct NoteTests {
    /// The example of golang.org/x/mod/sumdb/note (package documentation and note_test.go), a note
    /// format implementation independent of this one: its verifier key, its private key
    /// (base64 of 0x01 ‖ seed), the text and the signature line Ed25519 must reproduce exactly.
    static let peterVKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let peterPrivate = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let peterText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let peterNote = peterText + "\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    static let seed = [UInt8](repeating: 7, count: 32)
    static let gateway = try! SigningIdentity(seed: seed)
    static let origin = "erp.acme.example/causeway"

    static func checkpointText(size: Int = 5, root: [UInt8] = [UInt8](repeating: 0xAB, count: 32)) -> String {
        try! Checkpoint(origin: origin, size: size, rootHash: root).body
    }

    @Test("the Go sumdb/note example: key id, signature and verification reproduce exactly")
    func goExample() throws {
        let key = try NoteKey(vkey: Self.peterVKey)
        #expect(key.name == "PeterNeumann")
        #expect(key.keyIDHex == "c74f20a3")
        #expect(key.vkey == Self.peterVKey)
        let seed = try #require(Base64.decodeCanonical(Self.peterPrivate))
        let identity = try SigningIdentity(seed: Array(seed.dropFirst()))
        let signer = try NoteSigner(name: "PeterNeumann", identity: identity)
        #expect(signer.key == key)
        #expect(try signer.sign(text: Self.peterText).formatted == Self.peterNote)   // Ed25519 is deterministic
        let note = try SignedNote(parsing: Self.peterNote)
        #expect(note.text == Self.peterText)
        let verified = try note.verify(with: [key])
        #expect(verified.map(\.key) == [key])
    }

    @Test("key id by hand: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], big-endian")
    func keyIDByHand() throws {
        let public32 = Array(Self.gateway.privateKey.publicKey.rawRepresentation)
        var preimage = Array(Self.origin.utf8)
        preimage.append(0x0A)
        preimage.append(0x01)
        preimage += public32
        let digest = Array(SHA256.hash(data: preimage))
        let expected = UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
        let key = try NoteKey(name: Self.origin, didKey: Self.gateway.didKey)
        #expect(key.keyID == expected)
        // The cosignature key id uses type 0x04 and so differs.
        preimage[Self.origin.utf8.count + 1] = 0x04
        let cosigDigest = Array(SHA256.hash(data: preimage))
        let cosigKey = try NoteKey(name: Self.origin, didKey: Self.gateway.didKey, kind: .cosignatureV1)
        #expect(cosigKey.keyID == UInt32(cosigDigest[0]) << 24 | UInt32(cosigDigest[1]) << 16 | UInt32(cosigDigest[2]) << 8 | UInt32(cosigDigest[3]))
        #expect(cosigKey.keyID != key.keyID)
        // The signature line carries key id ‖ 64-byte signature.
        let line = try NoteSigner(name: Self.origin, identity: Self.gateway).signature(for: Self.checkpointText()).line
        #expect(line.hasPrefix("\u{2014} \(Self.origin) "))
        let raw = try #require(Base64.decodeCanonical(line.dropFirst(Self.origin.count + 3).dropLast()))
        #expect(raw.count == 68)
        #expect(Array(raw.prefix(4)) == Array(digest.prefix(4)))
        // vkey round trip.
        #expect(try NoteKey(vkey: key.vkey) == key)
        #expect(try NoteKey(vkey: cosigKey.vkey) == cosigKey)
    }

    @Test("a checkpoint signed by the gateway round-trips and opens with its did:key")
    func checkpointRoundTrip() throws {
        let checkpoint = try Checkpoint(origin: Self.origin, size: 48257, rootHash: Array(repeating: 1, count: 32))
        let note = try SignedCheckpoint.sign(checkpoint, with: Self.gateway)
        let text = note.formatted
        #expect(text.hasPrefix("erp.acme.example/causeway\n48257\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\n\u{2014} erp.acme.example/causeway "))
        let opened = try SignedCheckpoint(verifying: text, logKey: Self.gateway.didKey, expectedOrigin: Self.origin)
        #expect(opened.checkpoint == checkpoint)
        #expect(try SignedNote(parsing: text).formatted == text)
        let other = SigningIdentity()
        let wrongKey = #expect(throws: NoteError.self) { try SignedCheckpoint(verifying: text, logKey: other.didKey) }
        #expect(wrongKey?.code == .noKnownSignature)
        let wrongOrigin = #expect(throws: NoteError.self) { try SignedCheckpoint(verifying: text, logKey: Self.gateway.didKey, expectedOrigin: "other.example/log") }
        #expect(wrongOrigin?.code == .malformed)
    }

    @Test("a tampered body or signature is refused")
    func tampered() throws {
        let key = try NoteKey(name: Self.origin, didKey: Self.gateway.didKey)
        let text = try SignedCheckpoint.sign(try Checkpoint(origin: Self.origin, size: 5, rootHash: Array(repeating: 1, count: 32)), with: Self.gateway).formatted
        let body = text.replacingOccurrences(of: "\n5\n", with: "\n6\n")
        let bodyError = #expect(throws: NoteError.self) { try SignedNote(parsing: body).verify(with: [key]) }
        #expect(bodyError?.code == .signatureInvalid)
        // Flip one bit of the signature (inside the base64 after the key id).
        var note = try SignedNote(parsing: text)
        var sig = note.signatures[0].signature
        sig[10] ^= 0x01
        note = try SignedNote(text: note.text, signatures: [SignedNote.Signature(name: key.name, keyID: key.keyID, signature: sig)])
        let sigError = #expect(throws: NoteError.self) { try SignedNote(parsing: note.formatted).verify(with: [key]) }
        #expect(sigError?.code == .signatureInvalid)
    }

    @Test("unknown keys are ignored; a note signed only by unknown keys is refused; required keys must sign")
    func unknownAndRequired() throws {
        let key = try NoteKey(name: Self.origin, didKey: Self.gateway.didKey)
        let stranger = try NoteSigner(name: "stranger.example/key", identity: SigningIdentity())
        let sameNameOtherKey = try NoteSigner(name: Self.origin, identity: SigningIdentity())
        let text = Self.checkpointText()
        let signed = try NoteSigner(name: Self.origin, identity: Self.gateway).sign(text: text)
        let note = signed.adding([try stranger.signature(for: text), try sameNameOtherKey.signature(for: text)])
        let reparsed = try SignedNote(parsing: note.formatted)
        #expect(reparsed.signatures.count == 3)
        #expect(try reparsed.verify(with: [key]).map(\.key) == [key])
        let none = #expect(throws: NoteError.self) { try SignedNote(parsing: note.formatted).verify(with: [stranger.key].map { _ in try! NoteKey(name: "nobody", didKey: SigningIdentity().didKey) }) }
        #expect(none?.code == .noKnownSignature)
        let missing = #expect(throws: NoteError.self) { try signed.verify(with: [key, stranger.key], requiring: [stranger.key]) }
        #expect(missing?.code == .requiredSignatureMissing)
        #expect(try reparsed.verify(with: [key, stranger.key], requiring: [key, stranger.key]).count == 2)
    }

    @Test("a known key signing twice is refused")
    func duplicateSignatures() throws {
        let key = try NoteKey(name: Self.origin, didKey: Self.gateway.didKey)
        let signed = try NoteSigner(name: Self.origin, identity: Self.gateway).sign(text: Self.checkpointText())
        let doubled = signed.adding(signed.signatures)
        let error = #expect(throws: NoteError.self) { try SignedNote(parsing: doubled.formatted).verify(with: [key]) }
        #expect(error?.code == .duplicateSignature)
    }

    @Test("malformed notes and limits", arguments: [
        ("no blank line", "a\n\u{2014} k AAAAAAA=\n"),
        ("no signatures", "a\n\n"),
        ("no final newline", "a\n\n\u{2014} k AQIDBAU="),
        ("not an em dash", "a\n\n- k AQIDBAU=\n"),
        ("two spaces", "a\n\n\u{2014} k  AQIDBAU=\n"),
        ("plus in name", "a\n\n\u{2014} k+1 AQIDBAU=\n"),
        ("short signature", "a\n\n\u{2014} k AQID\n"),
        ("not base64", "a\n\n\u{2014} k %%%%\n"),
        ("control character", "a\tb\n\n\u{2014} k AQIDBAU=\n"),
        ("carriage return", "a\r\n\n\u{2014} k AQIDBAU=\n"),
    ])
    func malformed(name: String, text: String) {
        #expect(throws: NoteError.self, "\(name)") { try SignedNote(parsing: text) }
    }

    @Test("size and signature-count bounds")
    func bounds() throws {
        let line = "\u{2014} k AQIDBAU=\n"
        #expect(throws: NoteError.self) { try SignedNote(parsing: "a\n\n" + String(repeating: line, count: SignedNote.maxSignatures + 1)) }
        #expect(try SignedNote(parsing: "a\n\n" + String(repeating: line, count: SignedNote.maxSignatures)).signatures.count == 100)
        let big = String(repeating: "x", count: SignedNote.maxBytes) + "\n\n" + line
        let error = #expect(throws: NoteError.self) { try SignedNote(parsing: big) }
        #expect(error?.code == .tooLarge)
        #expect(throws: NoteError.self) { try SignedNote(parsing: [0x61, 0xFF, 0x0A, 0x0A] + Array(line.utf8)) }   // not UTF-8
    }

    @Test("cosignature/v1: signed message, timestamp, key id 0x04, verification")
    func cosignature() throws {
        let text = Self.checkpointText()
        let witnessIdentity = try SigningIdentity(seed: [UInt8](repeating: 9, count: 32))
        let witness = try NoteSigner(name: "witness.example/w1", identity: witnessIdentity, kind: .cosignatureV1)
        let cosig = try witness.cosignature(for: text, timestamp: 1_679_315_147)
        #expect(cosig.signature.count == 72)
        #expect(Array(cosig.signature.prefix(8)) == [0, 0, 0, 0, 0x64, 0x18, 0x50, 0xCB])
        // The signature is Ed25519 over "cosignature/v1\ntime 1679315147\n" + the checkpoint text.
        let message = Array("cosignature/v1\ntime 1679315147\n\(text)".utf8)
        #expect(witnessIdentity.privateKey.publicKey.isValidSignature(Array(cosig.signature[8...]), for: message))
        let note = try NoteSigner(name: Self.origin, identity: Self.gateway).sign(text: text).adding([cosig])
        let opened = try SignedCheckpoint(verifying: note.formatted, logKey: Self.gateway.didKey, witnesses: [witness.key])
        #expect(opened.verified.count == 2)
        #expect(opened.verified[1].timestamp == 1_679_315_147)
        // The same key as a plain Ed25519 key has another key id: its cosignature is then unknown and ignored.
        let plain = try NoteKey(name: "witness.example/w1", didKey: witnessIdentity.didKey)
        #expect(try SignedNote(parsing: note.formatted).verify(with: [plain, try SignedCheckpoint.logKey(origin: Self.origin, gateway: Self.gateway.didKey)]).count == 1)
        // A cosignature with a changed time fails.
        var forged = cosig.signature
        forged[7] ^= 1
        let bad = note.adding([]).signatures.dropLast() + [SignedNote.Signature(name: cosig.name, keyID: cosig.keyID, signature: forged)]
        let error = #expect(throws: NoteError.self) {
            try SignedCheckpoint(verifying: try SignedNote(text: text, signatures: Array(bad)).formatted, logKey: Self.gateway.didKey, witnesses: [witness.key])
        }
        #expect(error?.code == .signatureInvalid)
    }

    /// Verifier keys and a cosignature from transparency-dev/formats `note/note_cosigv1_test.go`
    /// (another implementation): a type-0x01 key whose base64 holds a '+', a native type-0x04
    /// cosignature key, and a cosignature line whose time is 1727964367.
    @Test("transparency-dev/formats keys: key ids of types 0x01 and 0x04 match, a '+' inside the base64 is fine")
    func formatsVectors() throws {
        let plus = try NoteKey(vkey: "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
        #expect(plus.kind == .ed25519)
        #expect(plus.name == "TEST")
        let cosigner = try NoteKey(vkey: "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
        #expect(cosigner.kind == .cosignatureV1)
        #expect(cosigner.keyIDHex == "da77ade7")
        // The same public key as a 0x01 key gets another id.
        #expect(try NoteKey(name: cosigner.name, publicKey: cosigner.publicKey).keyID != cosigner.keyID)
        let line = try SignedNote.parseSignatureLine("\u{2014} w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==")
        #expect(NoteKey.cosignatureTime(line) == 1_727_964_367)
        let plain = try SignedNote.parseSignatureLine("\u{2014} w eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=")
        #expect(NoteKey.cosignatureTime(plain) == nil)
    }

    @Test("verifier keys: vkey parsing is strict")
    func vkeys() throws {
        let good = try NoteKey(name: Self.origin, didKey: Self.gateway.didKey).vkey
        #expect(throws: NoteError.self) { try NoteKey(vkey: good.replacingOccurrences(of: "+", with: "-")) }
        let parts = good.split(separator: "+", maxSplits: 2)
        #expect(throws: NoteError.self) { try NoteKey(vkey: "\(parts[0])+00000000+\(parts[2])") }   // wrong key id
        #expect(throws: NoteError.self) { try NoteKey(vkey: "\(parts[0])+\(parts[1].uppercased())+\(parts[2])") }
        let raw = Base64.decodeCanonical(parts[2])!
        #expect(throws: NoteError.self) { try NoteKey(vkey: "\(parts[0])+\(parts[1])+\(Base64.encode([0x02] + raw.dropFirst()))") }  // ECDSA type
        #expect(throws: NoteError.self) { try NoteKey(vkey: "\(parts[0])+\(parts[1])+\(Base64.encode(raw.dropLast()))") }
    }

    @Test("checkpoint bodies are parsed strictly", arguments: [
        "o\n5\n",                                               // two lines
        "o\n05\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n",   // leading zero
        "o\n-5\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n",
        "o\n5\n\(Base64.encode([UInt8](repeating: 0, count: 31)))\n",    // short root
        "o\n5\n\(Base64.encode([UInt8](repeating: 0, count: 32)))",      // no final newline
        "o\n5\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n\n",  // empty extension line
        "\n5\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n",     // empty origin
        "o\n99999999999999999999\n\(Base64.encode([UInt8](repeating: 0, count: 32)))\n",
        "o\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",            // non-canonical base64
    ])
    func checkpointStrict(text: String) {
        #expect(throws: CheckpointError.self) { try Checkpoint(parsing: text) }
    }

    @Test("checkpoint: format and parse agree, extension lines kept, size 0 is '0'")
    func checkpointFormat() throws {
        let root = [UInt8](repeating: 0, count: 32)
        let text = "o.example/log\n0\n\(Base64.encode(root))\next one\n"
        let parsed = try Checkpoint(parsing: text)
        #expect(parsed.size == 0)
        #expect(parsed.extensions == ["ext one"])
        #expect(parsed.body == text)
    }

    @Test("add-checkpoint request: format and parse round trip, bounds")
    func addCheckpoint() throws {
        let note = try NoteSigner(name: Self.origin, identity: Self.gateway).sign(text: Self.checkpointText()).formatted
        let proof = [[UInt8](repeating: 1, count: 32), [UInt8](repeating: 2, count: 32)]
        let request = AddCheckpointRequest(oldSize: 3, consistencyProof: proof, checkpointNote: note)
        let text = request.formatted
        #expect(text.hasPrefix("old 3\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\nAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n\nerp.acme.example/causeway\n"))
        #expect(try AddCheckpointRequest(parsing: text) == request)
        #expect(try AddCheckpointRequest(parsing: "old 0\n\n" + note).consistencyProof.isEmpty)
        #expect(throws: NoteError.self) { try AddCheckpointRequest(parsing: "old 03\n\n" + note) }
        #expect(throws: NoteError.self) { try AddCheckpointRequest(parsing: "new 3\n\n" + note) }
        #expect(throws: NoteError.self) { try AddCheckpointRequest(parsing: "old 3\nnot base64\n\n" + note) }
        let tooLong = "old 3\n" + String(repeating: Base64.encode(proof[0]) + "\n", count: 64) + "\n" + note
        #expect(throws: NoteError.self) { try AddCheckpointRequest(parsing: tooLong) }
    }
}
