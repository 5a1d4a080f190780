import Foundation
@testable import MarginCore
import XCTest

/// Each observation of issue 26's table, on a report written for the test
/// in the shape of the page it was seen on (not a copy of any page).
final class UnseenPageTests: XCTestCase {
    func clean(_ lines: [String]) -> ReportCleaner.Result { ReportCleaner.clean(lines.joined(separator: "\n")) }

    let paragraph1 = "疫情发生以来,秦安县团县委迅速动员全县青年志愿者投身防控一线,共组建青年突击队16支,参与人员达420名,协助社区开展卡口值守和物资配送。"
    let paragraph2 = "秦安县各乡镇团委同步行动,累计为群众代购生活物资3000余件,发放宣传资料1.2万份,团县委还开设心理疏导热线,为居家群众提供服务。"

    func testASiteHeaderIsFurnitureAndTheHeadlineIsTheTitle() {
        let r = clean(["长城新媒体集团  主办", "", "秦安县团县委组织青年志愿者投身疫情防控", "", paragraph1, "", paragraph2])
        XCTAssertEqual(r.draft.title, "秦安县团县委组织青年志愿者投身疫情防控")
        XCTAssertFalse(r.draft.body.contains("主办"), r.draft.body)
        XCTAssertTrue(r.decisions.contains { $0.line == 1 && $0.role == "furniture" }, "the header is named as furniture")
    }

    func testAMirrorSitesSpamLineIsNotTheTitle() {
        let r = clean(["最新电影免费在线观看尽在本站", "秦安县青年突击队奋战防疫一线", paragraph1, paragraph2])
        XCTAssertEqual(r.draft.title, "秦安县青年突击队奋战防疫一线")
        XCTAssertFalse(r.draft.body.contains("电影"))
    }

    func testADateAndColumnPrefixLeavesTheTitle() {
        let r = clean(["03.02 【抗疫一线】秦安县青年突击队奋战防疫一线", "", paragraph1])
        XCTAssertEqual(r.draft.title, "秦安县青年突击队奋战防疫一线")
        XCTAssertEqual(r.draft.meta["column"], "抗疫一线")
    }

    func testTheYouthLeagueCommitteeIsNotAPlace() {
        let r = clean(["团县委组织青年志愿者投身疫情防控", "", paragraph1, "", paragraph2])
        XCTAssertEqual(r.draft.place, "秦安县")
    }

    func testAPlaceNamedOftenFromTheSecondParagraphIsFound() {
        var lines = ["凝聚基层力量 织密防控网络", "", "疫情防控进入关键阶段,各级党组织坚持把群众生命安全放在首位,迅速落实各项防控措施。"]
        for n in 1...6 {
            lines.append("梨樹縣委組織部第\(n)批選派機關幹部下沉社區,梨樹縣委要求黨員幹部堅守崗位,梨樹縣委督導組每日檢查落實情況。")
        }
        let r = clean(lines)
        XCTAssertEqual(r.draft.place, "梨樹縣")
    }

    func testAPlaceAfterADashInTheTitleIsFound() {
        let r = clean(["凝心聚力战疫情——武勝縣黨員幹部衝鋒在前", "",
                       "連日來,武勝縣組織全縣2000余名黨員幹部下沉一線,設立臨時黨支部38個,守好疫情防控每一道關口。"])
        XCTAssertEqual(r.draft.place, "武勝縣")
    }

    func testTheProvinceIsKeptApartFromThePlace() {
        let r = clean(["青海省玉树市织密疫情防控网", "", "玉树市各街道社区组织党员志愿者320名,协助开展核酸检测和物资配送,共设立临时党支部12个。"])
        XCTAssertEqual(r.draft.place, "玉树市")
        XCTAssertEqual(r.draft.meta["province"], "青海省")
    }

    func testADateLineWithClickCountsIsRead() {
        let r = clean(["梨樹縣委組織部部署疫情防控工作", "時間:2020年02月11日 點擊次數:14619", "", "梨樹縣委組織部要求全縣各級黨組織把防控責任落實到位,已選派幹部86名下沉社區。"])
        XCTAssertEqual(r.draft.published, "2020-02-11")
        XCTAssertFalse(r.draft.body.contains("點擊"), r.draft.body)
        for line in ["发布时间:2020-02-11 10:20 浏览次数:88", "日期:2020年2月11日", "時間：2020-02-11  閱讀:301"] {
            let s = clean(["标题:某县防疫工作", line, "", "某县各级党组织迅速行动,共抽调干部120名,组建志愿服务队8支,深入一线开展防控工作。"])
            XCTAssertEqual(s.draft.published?.prefix(10), "2020-02-11", line)
            XCTAssertFalse(s.draft.body.contains(String(line.prefix(2))), line)
        }
    }

    func testWidgetTextIsNotGluedToTheSource() {
        let r = clean(["洪洞县党员志愿者坚守卡口", "来源:临汾日报进入论坛手机读报", "", "洪洞县组织党员志愿者200余名,分成36个小组在全县卡口轮流值守,确保防控不留死角。"])
        XCTAssertEqual(r.draft.source, "临汾日报")
    }

    func testEachEditorRoleIsKeptUnderItsOwnName() {
        let r = clean(["洪洞县党员志愿者坚守卡口", "", "洪洞县组织党员志愿者200余名,分成36个小组在全县卡口轮流值守,确保防控不留死角。",
                       "编辑:张晓  责编:李华  编审:王强", "审核:赵敏"])
        XCTAssertEqual(r.draft.editor, "李华")
        XCTAssertEqual(r.draft.meta["编辑"], "张晓")
        XCTAssertEqual(r.draft.meta["编审"], "王强")
        XCTAssertEqual(r.draft.meta["审核"], "赵敏")
        let plain = clean(["标题:某县防疫", "", "某县各级党组织迅速行动,共抽调干部120名,深入一线开展防控工作。", "(编辑:张晓)"])
        XCTAssertEqual(plain.draft.editor, "张晓", "a plain 编辑 is the editor when no responsible editor is named")
    }

    func testAClosingNoteGivesTheSourceAndOriginalTitle() {
        let r = clean(["洪洞县党员志愿者坚守卡口", "", "洪洞县组织党员志愿者200余名,分成36个小组在全县卡口轮流值守,确保防控不留死角。(供稿:洪洞县委组织部,原标题:《党旗在防疫一线高高飘扬》)"])
        XCTAssertEqual(r.draft.source, "洪洞县委组织部")
        XCTAssertEqual(r.draft.meta["原标题"], "党旗在防疫一线高高飘扬")
        XCTAssertTrue(r.draft.body.hasSuffix("确保防控不留死角。"), r.draft.body)
        let alone = clean(["洪洞县党员志愿者坚守卡口", "", "洪洞县组织党员志愿者200余名,在全县卡口轮流值守。", "(供稿:洪洞县委组织部 原标题:党旗飘扬)"])
        XCTAssertEqual(alone.draft.source, "洪洞县委组织部")
        XCTAssertEqual(alone.draft.meta["原标题"], "党旗飘扬")
        XCTAssertFalse(alone.draft.body.contains("供稿"))
    }

    func testFurnitureBlocksLeaveTheBody() {
        let r = clean([
            "【字体: 【下载Word】 【下载PDF】", "分享:", "武乡县多措并举抓好疫情防控", "",
            "武乡县坚持党建引领,组织全县党员干部1200余名下沉村社,设立防控卡点58处,24小时轮班值守。", "?”/p>",
            "各乡镇党委压实属地责任,网格员逐户排查返乡人员,确保底数清、情况明。<br/>",
            "图片新闻", "武乡县召开防控调度会", "志愿者为群众送菜上门",
            "网站声明", "一、凡本网注明来源为本网的所有作品,版权均属本网所有,未经授权不得转载。",
            "二、本网转载其他媒体之作品,目的在于传递更多信息,并不代表本网赞同其观点或对其真实性负责,如有侵权请联系删除。",
            "三、联系电话:0000-0000000。",
        ])
        let body = r.draft.body
        for furniture in ["字体", "下载", "分享", "/p>", "<br", "图片新闻", "送菜上门", "网站声明", "转载", "联系电话"] {
            XCTAssertFalse(body.contains(furniture), "'\(furniture)' left in: \(body)")
        }
        XCTAssertTrue(body.contains("确保底数清、情况明。"))
        XCTAssertEqual(r.draft.title, "武乡县多措并举抓好疫情防控")
        let links = clean(["武乡县多措并举抓好疫情防控", "", "武乡县坚持党建引领,组织全县党员干部1200余名下沉村社,设立防控卡点58处。",
                           "商务链接", "某某装修公司 某某驾校", "县区分站:", "武乡县 | 沁县 | 襄垣县"])
        XCTAssertFalse(links.draft.body.contains("商务"))
        XCTAssertFalse(links.draft.body.contains("分站"))
        XCTAssertFalse(links.draft.body.contains("襄垣"), links.draft.body)
    }

    func testDamageFromAnEarlierConversionIsNamedWithItsLine() throws {
        let text = "某县防疫纪实\n\n广大党员勇?lián)?dāng,主动请缨。\n\n完成任?wù)后又奔赴下一个卡口。\n\n问题解决了吗? 解决了。"
        let warnings = ReportFile.garbledLines(text)
        XCTAssertEqual(warnings.count, 2, "\(warnings)")
        XCTAssertTrue(warnings[0].hasPrefix("line 3 "), warnings[0])
        XCTAssertTrue(warnings[1].hasPrefix("line 5 "), warnings[1])
    }

    func testExplainNamesEveryLinesRole() {
        let r = clean(["长城新媒体集团  主办", "秦安县团县委组织青年志愿者投身疫情防控", "来源:天水日报", "", paragraph1, "分享:"])
        let roles = Dictionary(r.decisions.map { ($0.line, $0.role) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(roles, [1: "furniture", 2: "title", 3: "metadata", 5: "body", 6: "furniture"])
        XCTAssertTrue(r.decisions.allSatisfy { !$0.why.isEmpty })
    }

    /// Three more page shapes, written after the rules above and used to
    /// test them, not to make them (Fixtures/pages): a county government
    /// site, an account's repost, a Traditional portal.
    func page(_ name: String) throws -> ReportCleaner.Result {
        let url = Paths.repo.appendingPathComponent("Tests/MarginCoreTests/Fixtures/pages/\(name).txt")
        return try ReportFile.parse(try Data(contentsOf: url))
    }

    func testACountyGovernmentSite() throws {
        let r = try page("county-government-site")
        XCTAssertEqual(r.draft.title, "洛川县旧县镇：党员干部冲在疫情防控第一线")
        XCTAssertEqual(r.draft.place, "洛川县")
        XCTAssertEqual(r.draft.meta["town"], "旧县镇", "the town within the county is kept apart")
        XCTAssertEqual(r.draft.published, "2020-03-05T09:12")
        XCTAssertEqual(r.draft.source, "洛川县融媒体中心")
        XCTAssertEqual(r.draft.author, "张小军")
        for furniture in ["门户网站", "政务公开", "字体", "打印", "上一篇", "下一篇", "主办", "ICP"] {
            XCTAssertFalse(r.draft.body.contains(furniture), furniture)
        }
        XCTAssertTrue(r.draft.body.hasPrefix("连日来"))
    }

    func testAnAccountsRepost() throws {
        let r = try page("account-repost")
        XCTAssertEqual(r.draft.title, "众志成城抗疫情 岷县党员在行动")
        XCTAssertEqual(r.draft.published, "2020-02-15")
        XCTAssertEqual(r.draft.source, "岷县县委组织部", "a labelled source wins over the account's name")
        XCTAssertEqual(r.draft.meta["publisher"], "岷县发布")
        XCTAssertEqual(r.draft.editor, "李婷")
        XCTAssertEqual(r.draft.meta["审核"], "王刚")
        XCTAssertEqual(r.draft.meta["监制"], "赵强")
        for furniture in ["原创", "融媒体中心", "阅读", "在看"] { XCTAssertFalse(r.draft.body.contains(furniture), furniture) }
        XCTAssertTrue(r.draft.body.hasPrefix("疫情就是命令"))
    }

    func testATraditionalPortal() throws {
        let r = try page("traditional-portal")
        XCTAssertEqual(r.draft.title, "黨員帶頭 興仁縣築牢基層防疫線")
        XCTAssertEqual(r.draft.published, "2020-02-03T14:20")
        XCTAssertEqual(r.draft.source, "黔西南日報")
        XCTAssertEqual(r.draft.author, "陳大文")
        XCTAssertEqual(r.draft.editor, "黃小梅")
        XCTAssertEqual(r.draft.place, "興仁縣")
        XCTAssertFalse(r.draft.body.contains("新聞網"))
        XCTAssertTrue(r.draft.body.hasPrefix("興仁縣委組織部"))
    }

    /// A third round, written after the second round's fixes.
    func testAProvincialPaper() throws {
        let r = try page("provincial-paper")
        XCTAssertEqual(r.draft.title, "赞皇县：党员突击队守护群众平安")
        XCTAssertEqual(r.draft.published, "2020-02-10T08:35:12")
        XCTAssertEqual(r.draft.source, "河北日报")
        XCTAssertEqual(r.draft.author, "王伟", "the reporter, without 记者 and the correspondent")
        XCTAssertEqual(r.draft.meta["correspondent"], "李娜")
        XCTAssertEqual(r.draft.editor, "刘洋")
        for furniture in ["相关新闻", "春耕", "网友评论", "关于我们"] { XCTAssertFalse(r.draft.body.contains(furniture), furniture) }
    }

    func testAnOrganisationDepartmentPage() throws {
        let r = try page("organisation-department")
        XCTAssertEqual(r.draft.title, "平泉市委组织部：强化基层堡垒 筑牢战“疫”防线")
        XCTAssertEqual(r.draft.meta["column"], "抗击疫情")
        XCTAssertEqual(r.draft.published, "2020-02-12")
        XCTAssertEqual(r.draft.place, "平泉市")
        XCTAssertEqual(r.draft.meta["供稿"], "平泉市委组织部")
        XCTAssertEqual(r.draft.author, "张丽")
        XCTAssertFalse(r.draft.body.contains("供稿"))
        XCTAssertTrue(r.draft.body.contains("三、强化关心关爱"))
    }

    func testAnAggregatorMirror() throws {
        let r = try page("aggregator-mirror")
        XCTAssertEqual(r.draft.title, "湄潭县：“红色网格”织密疫情防控网")
        XCTAssertEqual(r.draft.published, "2020-02-20", "a weekday beside the date is read past")
        XCTAssertEqual(r.draft.source, "人民网-人民日报")
        XCTAssertEqual(r.draft.editor, "陈晨", "bracketed buttons and metadata on one line")
        for furniture in ["注册", "搜索", "论坛", "纠错", "热门推荐", "茶产业"] { XCTAssertFalse(r.draft.body.contains(furniture), furniture) }
    }

    func testATraditionalLede() throws {
        let r = try page("traditional-lede")
        XCTAssertEqual(r.draft.title, "黨員幹部下沉社區 門源縣防控到戶")
        XCTAssertEqual(r.draft.author, "趙文", "the reporter named where the text opens")
        XCTAssertTrue(r.draft.body.hasPrefix("【大公報訊】記者趙文報道："), "the opening line stays text")
        XCTAssertEqual(r.draft.place, "門源縣")
        XCTAssertEqual(r.draft.meta["province"], "青海省")
        XCTAssertFalse(r.draft.body.contains("內地新聞"))
    }

    func testAGB18030PageWithItsTitleTwiceAndIndentedParagraphs() throws {
        let r = try page("gb18030-title-twice")
        XCTAssertEqual(r.encoding, "GB18030")
        XCTAssertEqual(r.draft.title, "民和县：党员先锋岗守护“家门口”", "the site's name after _ leaves the title")
        XCTAssertFalse(r.draft.body.contains("家门口"), "the headline again is not text")
        XCTAssertEqual(r.draft.author, "马晓燕")
        XCTAssertEqual(r.draft.source, "海东时报")
        XCTAssertEqual(r.draft.published, "2020-02-18T16:40")
        XCTAssertEqual(r.draft.editor, "韩梅")
        XCTAssertTrue(r.draft.body.hasPrefix("近日，民和县"), "full-width indents are trimmed")
    }

    func testAnEditorsNoteBeforeTheTitle() throws {
        let r = try page("editors-note")
        XCTAssertEqual(r.draft.title, "玛沁县：草原上的“红色哨兵”")
        XCTAssertTrue(r.draft.meta["编者按"]?.hasPrefix("连日来") == true)
        XCTAssertTrue(r.draft.body.hasPrefix("玛沁县在通往县城"))
        XCTAssertEqual(r.draft.source, "青海日报")
    }
}
