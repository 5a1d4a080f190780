import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reports arrive as UTF-8, GB18030 (or its subset GBK), Big5 and UTF-16
/// with a byte-order mark. A BOM decides; otherwise valid UTF-8 is taken as
/// UTF-8, and other bytes are decoded as GB18030 and as Big5 through glibc's
/// iconv and the more plausible reading kept: the one whose ideographs are
/// more often among the commonest of Chinese text (both scripts). A byte
/// sequence of one legacy encoding usually decodes "validly" in the other,
/// into rare characters, which is what the score tells apart.
public enum TextEncoding {
    /// The text and the name of the encoding it was read in.
    public struct Decoded: Equatable, Sendable {
        public var text: String
        public var encoding: String
    }

    /// The legacy encodings tried when the bytes are not UTF-8, in order of preference on a tie.
    public static let candidates = ["GB18030", "BIG5"]

    /// Decodes `data`. `forced`: an iconv encoding name the user gave
    /// (`--encoding`), used as it is. Nil when nothing reads the bytes.
    public static func decode(_ data: Data, forced: String? = nil) throws -> Decoded? {
        let bytes = Array(data)
        if let forced {
            let name = forced.uppercased()
            if name == "UTF-8" || name == "UTF8" { return TextNormalization.decodeUTF8(data).map { Decoded(text: $0, encoding: "UTF-8") } }
            guard let text = try convert(bytes, from: name) else { return nil }
            return Decoded(text: text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text, encoding: name)
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            return TextNormalization.decodeUTF8(data).map { Decoded(text: $0, encoding: "UTF-8") }
        }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            let name = bytes[0] == 0xFF ? "UTF-16LE" : "UTF-16BE"
            return try convert(Array(bytes.dropFirst(2)), from: name).map { Decoded(text: $0, encoding: name) }
        }
        if let text = TextNormalization.decodeUTF8(data) { return Decoded(text: text, encoding: "UTF-8") }
        var best: (score: Double, decoded: Decoded)?
        for name in candidates {
            guard let text = try convert(bytes, from: name) else { continue }
            let s = plausibility(text)
            if best == nil || s > (best?.score ?? 0) { best = (s, Decoded(text: text, encoding: name)) }
        }
        return best?.decoded
    }

    /// The share of a text's ideographs that are among the commonest of
    /// Chinese news text, in either script (0 when it has none).
    static func plausibility(_ text: String) -> Double {
        var ideographs = 0, common = 0
        for u in text.unicodeScalars where (0x4E00...0x9FFF).contains(u.value) || (0x3400...0x4DBF).contains(u.value) {
            ideographs += 1
            if commonSet.contains(u) { common += 1 }
        }
        return ideographs == 0 ? 0 : Double(common) / Double(ideographs)
    }

    /// About 500 of the commonest characters of Chinese news text, in
    /// Simplified and Traditional forms.
    static let commonSet: Set<Unicode.Scalar> = Set((
        "的一是在不了有和人这這中大为為上个個国國我以要他时時来來用们們生到作地于於出就分对對成会會可主发發年动動同工也能下过過子说說产產种種面而方后後多定行学學法所民得经經十三之进進着等部度家电電力里裡如水化高自二理起小物现現实實加量都两兩体體制机機当當使点點从從业業本去把性好应應开開它合还還因由其些然前外天政四日那社义義事平形相全表间間样樣与與关關各重新线線内內数數正心反你明看原又么麼利比或但质質气氣第向道命此变變条條只没沒结結解问問意建月公无無系军軍很情者最立代想已通并並提直题題党黨程展五果料象员員革位入常文总總次品式活设設及管特件长長求老头頭基资資边邊流路级級少图圖山统統接知较較将將组組见見计計别別她手角期根论論运運农農指几幾九区區强強放决決西被干做必战戰先回则則任取据據处處府疫防控县縣市镇鎮村街道乡鄉委书書记記领領导導干幹群众眾服务務志愿願队隊支检檢测測核酸病例确確诊診隔离離医醫院护護卫衛健康区區域封管物资資保障供应應居户戶楼樓门門岗崗值守排查登记記宣传傳疫苗接种種人员員员員名万萬余餘共累计計截至目前今年月日时時小报報道讯訊网網来源源编編辑輯责責任作者发發布期间間全县縣州省镇鎮乡鄉社会會工作开開展落实實要求坚堅持强強化加强強组組织織领領导導带帶头頭先锋鋒模范範作用"
    ).unicodeScalars)

    /// Throws, naming the known ones, when iconv does not know `name`.
    public static func requireKnown(_ name: String) throws {
        iconv_close(try converter(from: name))
    }

    /// An iconv converter from `name` to UTF-8; throws, naming the known
    /// ones, when iconv does not know `name`.
    static func converter(from name: String) throws -> iconv_t {
        guard let cd = iconv_open("UTF-8", name.uppercased()), Int(bitPattern: cd) != -1 else {
            throw MarginError.invalid("unknown encoding '\(Printable.line(name))' (try UTF-8, GB18030, GBK, BIG5, BIG5-HKSCS, UTF-16LE or UTF-16BE)")
        }
        return cd
    }

    /// `bytes` in encoding `name` (an iconv name) as a String, or nil when
    /// they are not valid in it. Throws when iconv does not know the name.
    static func convert(_ bytes: [UInt8], from name: String) throws -> String? {
        let cd = try converter(from: name)
        defer { iconv_close(cd) }
        guard !bytes.isEmpty else { return "" }
        var input = bytes
        var output = [UInt8](repeating: 0, count: bytes.count * 4 + 16)
        let produced: Int? = input.withUnsafeMutableBytes { inRaw -> Int? in
            output.withUnsafeMutableBytes { outRaw -> Int? in
                guard let inBase = inRaw.baseAddress, let outBase = outRaw.baseAddress else { return nil }
                var inPtr: UnsafeMutablePointer<CChar>? = inBase.assumingMemoryBound(to: CChar.self)
                var outPtr: UnsafeMutablePointer<CChar>? = outBase.assumingMemoryBound(to: CChar.self)
                var inLeft = inRaw.count, outLeft = outRaw.count
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                guard r != -1, inLeft == 0 else { return nil }
                return outRaw.count - outLeft
            }
        }
        guard let n = produced else { return nil }
        return TextNormalization.decodeUTF8(Data(output[0..<n]))
    }
}
