/// What the importer knows about report pages, as data: labels, words and
/// suffixes in one place, so that a researcher can read the rules and add
/// to them without reading the cleaner (`ReportCleaner`), which applies
/// them. Simplified and Traditional forms are both listed; nothing here
/// names a particular site or report.
public enum ImportRules {
    // MARK: Metadata lines

    /// Labels of metadata lines (`label:value`) and the field each fills.
    /// Fields: the record fields `published`, `source`, `author`, `editor`;
    /// any other name is a metadata key of its own (`margin show` lists it);
    /// "" reads the label and drops its value (click counts, font widgets).
    /// Editor roles each keep their own key (`编审`, `审核` …), the
    /// responsible editor (责任编辑, 责编) is the record's `editor`, and a
    /// plain 编辑 becomes the `editor` when no responsible editor is named.
    public static let labels: [(label: String, field: String)] = [
        ("发布时间", "published"), ("發布時間", "published"), ("发布日期", "published"), ("發布日期", "published"),
        ("发表时间", "published"), ("發表時間", "published"), ("發佈時間", "published"), ("发布于", "published"), ("發佈於", "published"),
        ("發佈日期", "published"), ("发表于", "published"), ("發表於", "published"), ("更新时间", "published"), ("更新時間", "published"),
        ("时间", "published"), ("時間", "published"), ("日期", "published"),
        ("信息来源", "source"), ("信息來源", "source"), ("资料来源", "source"), ("資料來源", "source"), ("新闻来源", "source"),
        ("新聞來源", "source"), ("稿件来源", "source"), ("稿件來源", "source"), ("文章来源", "source"), ("文章來源", "source"),
        ("转载自", "source"), ("轉載自", "source"), ("转自", "source"), ("轉自", "source"),
        ("来源", "source"), ("來源", "source"), ("稿源", "source"), ("出处", "source"), ("出處", "source"),
        ("供稿", "供稿"), ("原标题", "原标题"), ("原標題", "原标题"), ("原题", "原标题"), ("原題", "原标题"),
        ("作者", "author"), ("记者", "author"), ("記者", "author"), ("撰稿", "author"),
        ("责任编辑", "editor"), ("責任編輯", "editor"), ("责编", "editor"), ("責編", "editor"),
        ("编辑", "编辑"), ("編輯", "编辑"), ("编审", "编审"), ("編審", "编审"), ("审核", "审核"), ("審核", "审核"),
        ("校对", "校对"), ("校對", "校对"), ("初审", "初审"), ("初審", "初审"), ("复审", "复审"), ("複審", "复审"),
        ("终审", "终审"), ("終審", "终审"), ("监制", "监制"), ("監製", "监制"),
        ("通讯员", "correspondent"), ("通訊員", "correspondent"), ("摄影", "photographer"), ("攝影", "photographer"),
        ("浏览次数", ""), ("瀏覽次數", ""), ("点击次数", ""), ("點擊次數", ""), ("阅读次数", ""), ("閱讀次數", ""),
        ("点击数", ""), ("點擊數", ""), ("阅读量", ""), ("閱讀量", ""), ("浏览量", ""), ("瀏覽量", ""), ("访问量", ""), ("訪問量", ""),
        ("点击", ""), ("點擊", ""), ("浏览", ""), ("瀏覽", ""), ("阅读", ""), ("閱讀", ""),
        ("字号", ""), ("字號", ""), ("字体", ""), ("字體", ""),
    ]

    /// Words a site glues after a metadata value (`来源:临汾日报进入论坛手机读报`):
    /// taken off the value's end.
    public static let trailingWidgetWords = [
        "进入论坛", "進入論壇", "手机读报", "手機讀報", "手机看", "手機看", "手机版", "手機版", "打印", "收藏", "分享", "关闭", "關閉",
        "纠错", "糾錯", "字体", "字體", "字号", "字號", "大中小", "大 中 小",
    ]

    // MARK: Furniture

    /// Lines made only of these words (brackets, colons and separators
    /// aside) are page widgets: `【打印】【关闭】`, `分享:`, `【字体: 【下载Word】 【下载PDF】`.
    public static let widgetWords: Set<String> = [
        "小字号", "小字號", "中字号", "中字號", "大字号", "大字號", "字号", "字號", "字体", "字體", "打印", "关闭", "關閉", "关闭窗口", "關閉窗口",
        "收藏", "纠错", "糾錯", "分享", "分享到", "打印本页", "打印本頁", "默认", "默認", "放大", "缩小", "縮小", "返回", "顶部", "頂部",
        "扫一扫", "掃一掃", "微信", "微博", "QQ空间", "QQ空間", "手机看", "手機看", "大", "中", "小", "下载Word", "下載Word",
        "下载PDF", "下載PDF", "下载", "下載", "视力保护色", "視力保護色", "朗读", "朗讀", "复制链接", "複製鏈接",
        "阅读", "閱讀", "在看", "点赞", "點讚", "赞", "讚", "写留言", "寫留言", "留言", "分享到朋友圈", "打开", "打開",
    ]

    /// Labels of an editors' preface before the report (`编者按：…`): kept
    /// as the metadata `编者按`, not as the report's text.
    public static let editorsNoteLabels = ["编者按", "編者按", "编者的话", "編者的話", "编者注", "編者註"]

    /// Words a repost or an account's header puts before the publisher: 原创.
    public static let originalMarkers = ["原创", "原創", "转载", "轉載"]

    /// How a site's name ends: the first part of a breadcrumb such as
    /// `台灣新聞網 > 大陸新聞`, and a short publisher line under a title.
    public static let siteNameEndings = ["网", "網", "网站", "網站", "频道", "頻道", "在线", "在線", "新闻", "新聞", "首页", "首頁", "报", "報"]

    /// How a publisher's name ends: a short line of one such name between
    /// the title and the text (`岷县融媒体中心`) is its source when no line
    /// says `来源`.
    public static let publisherEndings = ["融媒体中心", "融媒體中心", "新闻中心", "新聞中心", "日报", "日報", "晚报", "晚報",
                                          "电视台", "電視台", "广播电视台", "廣播電視台", "发布", "發布", "网", "網"]

    /// Section labels of page furniture: a short line that starts with one
    /// (alone, or followed by a colon or a list) is furniture; after the
    /// report's text, the short lines under it go too (a list of links).
    public static let furnitureLabels = [
        "图片新闻", "圖片新聞", "商务链接", "商務鏈接", "县区分站", "縣區分站", "友情链接", "友情鏈接", "相关链接", "相關鏈接",
        "热门推荐", "熱門推薦", "精彩推荐", "精彩推薦", "热点新闻", "熱點新聞", "图片推荐", "圖片推薦", "猜你喜欢", "猜你喜歡",
        "网友评论", "網友評論", "发表评论", "發表評論", "扫码关注", "掃碼關注", "关注我们", "關注我們", "专题推荐", "專題推薦",
    ]

    /// Markers after which only short lines (related articles, copyright)
    /// follow; the marker goes, and the rest with it when it is that short.
    public static let footerMarkers = [
        "分享到", "分享至", "分享让更多人看到", "分享讓更多人看到", "相关文章", "相關文章", "相关新闻", "相關新聞", "相关阅读", "相關閱讀",
        "推荐阅读", "推薦閱讀", "延伸阅读", "延伸閱讀", "返回顶部", "返回頂部", "上一篇", "下一篇", "版权所有", "版權所有",
        "Copyright", "copyright", "COPYRIGHT", "©", "主办单位", "主辦單位", "网站地图", "網站地圖", "联系我们", "聯繫我們",
    ]

    /// Headings of a disclaimer or rights notice: from one of them (after
    /// the first paragraph) to the end is the page's footer, however long
    /// its paragraphs.
    public static let disclaimerHeadings = [
        "版权及免责声明", "版權及免責聲明", "免责声明", "免責聲明", "版权声明", "版權聲明", "法律声明", "法律聲明", "版权说明", "版權說明",
        "网站声明", "網站聲明", "本站声明", "本站聲明", "特别声明", "特別聲明",
    ]

    /// Words of a site's own header or of advertising, never of a headline:
    /// a line holding one is not taken for the title.
    public static let siteWords = [
        "主办", "主辦", "承办", "承辦", "协办", "協辦", "版权", "版權", "网站", "網站", "官网", "官網", "欢迎访问", "歡迎訪問",
        "欢迎您", "歡迎您", "手机版", "手機版", "客户端", "客戶端", "设为首页", "設為首頁", "加入收藏", "登录", "登錄", "注册", "註冊",
        "www.", ".com", ".cn", "http", "新媒体集团", "新媒體集團", "传媒集团", "傳媒集團", "报业集团", "報業集團", "在线观看", "在線觀看",
        "免费下载", "免費下載",
    ]

    // MARK: Places

    /// Administrative suffixes, longest first: a place name ends in one.
    public static let placeSuffixes = ["自治县", "自治縣", "自治州", "自治旗", "县", "縣", "旗", "市", "区", "區", "州", "盟"]

    /// Suffixes of a level above the county: a name such as 青海省玉树市
    /// keeps 玉树市 as the place and 青海省 as its `province`.
    public static let provinceSuffixes = ["省", "自治区", "自治區"]

    /// Characters that never belong to a place name: a name read backwards
    /// from its suffix stops before one. Collective and pronoun words (全,
    /// 各, 该 …), the 团 of 团县委 (the county Youth League committee),
    /// prepositions and particles.
    public static let notInPlaceNames: Set<Character> = [
        "全", "本", "该", "該", "我", "各", "此", "每", "团", "團", "党", "黨", "市", "县", "縣", "区", "區", "省", "州", "乡", "鄉",
        "镇", "鎮", "村", "的", "在", "了", "和", "与", "與", "及", "是", "对", "對", "为", "為", "从", "從", "到", "向", "由", "据", "據",
        "将", "將", "把", "被", "让", "讓", "给", "給", "于", "於", "等", "驻", "駐", "赴", "至", "其", "两", "兩", "多", "个", "個",
        "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "百", "千", "万", "萬", "外", "内", "內", "周", "邻", "鄰",
    ]

    /// Words ending in a place suffix that name no place.
    public static let notPlaces: Set<String> = [
        "城市", "都市", "城区", "城區", "市区", "市區", "地区", "地區", "社区", "社區", "小区", "小區", "园区", "園區", "景区", "景區",
        "街区", "街區", "辖区", "轄區", "片区", "片區", "新区", "新區", "山区", "山區", "牧区", "牧區", "灾区", "災區", "疫区", "疫區",
        "校区", "校區", "城乡", "超市", "集市", "门市", "門市", "夜市", "股市", "楼市", "樓市", "菜市", "上市", "城区", "郊区", "郊區",
        "封控区", "封控區", "管控区", "管控區", "防范区", "防範區", "风险区", "風險區", "隔离区", "隔離區", "缓冲区", "緩衝區",
        "生活区", "生活區", "办公区", "辦公區", "核心区", "核心區", "开发区", "開發區", "示范区", "示範區", "功能区", "功能區",
        "行政区", "行政區", "矿区", "礦區", "库区", "庫區", "湖区", "湖區", "林区", "林區", "营区", "營區", "病区", "病區", "网格区", "網格區",
        "党旗", "黨旗", "红旗", "紅旗", "国旗", "國旗", "锦旗", "錦旗", "彩旗", "团旗", "團旗", "队旗", "隊旗", "战旗", "戰旗",
        "神州", "九州", "郡县", "郡縣",
    ]

    /// A suffix followed by one of these is part of a longer word, not the
    /// end of a name: 市场 (a market), 旗帜 (a banner), 区域 (an area).
    public static let notAfterSuffix: [Character: Set<Character>] = [
        "市": ["场", "場", "民", "值", "容", "面"], "旗": ["帜", "幟", "手", "杆", "下"], "区": ["域", "别", "別", "分"],
        "區": ["域", "别", "別", "分"], "州": ["长", "長"], "县": ["城", "级", "級", "域"], "縣": ["城", "级", "級", "域"],
    ]

    // MARK: Figures

    /// Classifiers of counted figures, longest first in use: 人次 before 人.
    public static let countClassifiers = [
        "人次", "辆次", "輛次", "架次", "户次", "戶次", "万份", "萬份",
        "名", "个", "個", "支", "人", "处", "處", "户", "戶", "家", "所", "座", "条", "條", "份", "件", "辆", "輛",
        "次", "吨", "噸", "把", "台", "臺", "张", "張", "批", "项", "項", "间", "間", "栋", "棟", "套", "位", "只",
        "头", "頭", "箱", "袋", "瓶", "盒", "场", "場", "轮", "輪", "队", "隊", "组", "組",
    ]

    /// Classifiers of durations and ages (24小时, 36個年頭, 7天): figures of
    /// their own kind, not counts.
    public static let durationClassifiers = [
        "个小时", "個小時", "个年头", "個年頭", "个星期", "個星期", "个工作日", "個工作日", "个月", "個月",
        "小时", "小時", "年头", "年頭", "周岁", "週歲", "星期", "昼夜", "晝夜", "分钟", "分鐘", "工作日", "岁", "歲", "天", "周", "週",
    ]

    /// Words before a number that make it approximate: 近万名 (nearly),
    /// 约 (about), 超 / 逾 / 上 (over).
    public static let approximateBefore: [String: String] = [
        "近": "nearly", "将近": "nearly", "將近": "nearly", "约": "about", "約": "about", "大约": "about", "大約": "about",
        "逾": "over", "超": "over", "超过": "over", "超過": "over", "上": "over",
    ]

    /// Words between a number and its classifier that make it approximate:
    /// 4300余人次, 20多名.
    public static let approximateAfter: [String: String] = ["余": "over", "餘": "over", "多": "over"]

    /// Characters that end a noun a trigger word begins: a suggested
    /// quote running over 志愿 runs on to 志愿者.
    public static let nounEndings: Set<Character> = ["者", "员", "員", "们", "們", "队", "隊", "军", "軍", "户", "戶"]

    /// Classifiers that also make place names with a Chinese numeral
    /// before them: 十家堡, 三里屯, 八间房.
    public static let nameClassifiers: Set<Character> = ["家", "里", "間", "间", "户", "戶", "道"]

    /// Characters that end such a place name: a figure in Chinese numerals
    /// whose classifier is one of `nameClassifiers` and is followed by one
    /// of these (十家堡) is taken for a name, not a count.
    public static let nameEndings: Set<Character> = [
        "堡", "村", "屯", "庄", "莊", "寨", "铺", "鋪", "店", "营", "營", "沟", "溝", "湾", "灣", "坡", "岭", "嶺", "桥", "橋", "镇", "鎮", "乡", "鄉",
    ]
}
