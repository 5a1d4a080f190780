import Foundation
import MarginCore

/// A seeded generator: the same seed gives the same run, so a failure found
/// with a seed can be replayed.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Reports in the style of the samples, made up from figures and places, for
/// tests that need a store of some size.
public enum GeneratedReports {
    static let places = ["曲麻萊縣", "稱多縣", "治多縣", "雜多縣", "囊謙縣", "瑪多縣", "達日縣", "甘德縣"]
    static let units = ["個臨時黨支部", "名黨員", "名幹部", "個卡點", "名志願者", "戶居民"]

    /// A report body whose every sentence carries a figure, so spans can be
    /// made on "NN名黨員"-like quotes.
    public static func draft(_ n: Int, from origin: String, using rng: inout SplitMix64) -> ReportDraft {
        let place = places[Int(rng.next() % UInt64(places.count))]
        var sentences: [String] = []
        for i in 0..<6 {
            let figure = Int(rng.next() % 900) + 10
            let unit = units[(n + i) % units.count]
            sentences.append("\(place)第\(n)號通報(\(origin))之\(i):全縣組織\(figure)\(unit)投入防控,晝夜值守,確保群眾生活物資供應。")
        }
        return ReportDraft(body: sentences.joined(), title: "\(place)防控通報 \(origin)-\(n)", source: "\(place)融媒體中心",
                           published: String(format: "2020-02-%02d", n % 28 + 1), place: place)
    }

    /// Imports `reports` reports into `store`, codes two figures in each and
    /// reviews one: about 35 changes a report. Returns the record ids.
    @discardableResult
    public static func populate(_ store: Store, reports: Int, seed: UInt64) throws -> [String] {
        var rng = SplitMix64(seed: seed)
        let code = try store.codes().first { $0.name == "figure" }?.id
            ?? store.addCode(name: "figure", description: "a number in the text", colour: nil, parent: nil)
        var ids: [String] = []
        try store.write {
            for n in 0..<reports {
                let draft = draft(n, from: store.node.name, using: &rng)
                let (id, _) = try store.importReport(draft)
                ids.append(id)
                let first = try store.annotate(record: id, code: code, span: .quote("之0", occurrence: nil), value: "0", note: nil)
                _ = try store.annotate(record: id, code: code, span: .quote("之5", occurrence: nil), value: "5", note: "check")
                try store.review(annotation: first, status: .accepted, comment: nil)
            }
        }
        return ids
    }
}

/// A page in the shape of a provincial site's: its header, the headline, a
/// source line, two paragraphs, and a disclaimer block that older cleaners
/// kept. Written for the record-identity tests of Core and the CLI.
public enum SamplePage {
    public static let qinan = """
        长城新媒体集团  主办
        秦安县团县委组织青年志愿者投身疫情防控
        来源:天水日报

        疫情发生以来,秦安县团县委迅速动员全县青年志愿者投身防控一线,共组建青年突击队16支,参与人员达420名,协助社区开展卡口值守和物资配送。

        秦安县各乡镇团委同步行动,累计为群众代购生活物资3000余件,发放宣传资料1.2万份,团县委还开设心理疏导热线,为居家群众提供服务。

        网站声明
        一、凡本网注明来源为本网的所有作品,版权均属本网所有,未经授权不得转载。
        """
}
