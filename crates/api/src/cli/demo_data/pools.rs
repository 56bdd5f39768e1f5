//! The word lists demo data is drawn from: common Iranian given and family names (with
//! the Latin spelling used for e-mail addresses), some foreign names, provinces with
//! their cities and landline area codes, industries, streets, note texts.

/// Given name, its Latin spelling.
pub const MALE_NAMES: &[(&str, &str)] = &[
    ("علی", "ali"),
    ("محمد", "mohammad"),
    ("حسین", "hossein"),
    ("رضا", "reza"),
    ("مهدی", "mahdi"),
    ("امیر", "amir"),
    ("حمید", "hamid"),
    ("سعید", "saeed"),
    ("مجید", "majid"),
    ("مسعود", "masoud"),
    ("احمد", "ahmad"),
    ("جواد", "javad"),
    ("یوسف", "yousef"),
    ("امید", "omid"),
    ("بهرام", "bahram"),
    ("فرهاد", "farhad"),
    ("کامران", "kamran"),
    ("پویا", "pouya"),
    ("آرش", "arash"),
    ("سیاوش", "siavash"),
    ("بابک", "babak"),
    ("کیوان", "keyvan"),
    ("نیما", "nima"),
    ("میلاد", "milad"),
    ("سجاد", "sajjad"),
    ("مرتضی", "morteza"),
    ("مصطفی", "mostafa"),
    ("هادی", "hadi"),
    ("ابوالفضل", "abolfazl"),
    ("محمدرضا", "mohammadreza"),
    ("علیرضا", "alireza"),
    ("امیرحسین", "amirhossein"),
];

pub const FEMALE_NAMES: &[(&str, &str)] = &[
    ("فاطمه", "fatemeh"),
    ("زهرا", "zahra"),
    ("مریم", "maryam"),
    ("سارا", "sara"),
    ("نرگس", "narges"),
    ("لیلا", "leila"),
    ("مینا", "mina"),
    ("شیرین", "shirin"),
    ("نازنین", "nazanin"),
    ("الهام", "elham"),
    ("سمیرا", "samira"),
    ("پریسا", "parisa"),
    ("نسرین", "nasrin"),
    ("مهسا", "mahsa"),
    ("نیلوفر", "niloufar"),
    ("آزاده", "azadeh"),
    ("شبنم", "shabnam"),
    ("فرشته", "fereshteh"),
    ("هانیه", "hanieh"),
    ("کیمیا", "kimia"),
    ("ریحانه", "reyhaneh"),
    ("سپیده", "sepideh"),
    ("یاسمن", "yasaman"),
    ("مهتاب", "mahtab"),
    ("ستاره", "setareh"),
    ("رویا", "roya"),
    ("معصومه", "masoumeh"),
];

pub const LAST_NAMES: &[(&str, &str)] = &[
    ("محمدی", "mohammadi"),
    ("حسینی", "hosseini"),
    ("احمدی", "ahmadi"),
    ("رضایی", "rezaei"),
    ("کریمی", "karimi"),
    ("موسوی", "mousavi"),
    ("جعفری", "jafari"),
    ("صادقی", "sadeghi"),
    ("رحیمی", "rahimi"),
    ("قاسمی", "ghasemi"),
    ("حیدری", "heidari"),
    ("نوری", "nouri"),
    ("کاظمی", "kazemi"),
    ("سلطانی", "soltani"),
    ("عباسی", "abbasi"),
    ("یزدانی", "yazdani"),
    ("شریفی", "sharifi"),
    ("مرادی", "moradi"),
    ("اکبری", "akbari"),
    ("تهرانی", "tehrani"),
    ("اصفهانی", "esfahani"),
    ("شیرازی", "shirazi"),
    ("کرمانی", "kermani"),
    ("نجفی", "najafi"),
    ("طاهری", "taheri"),
    ("هاشمی", "hashemi"),
    ("فرهادی", "farhadi"),
    ("زمانی", "zamani"),
    ("قربانی", "ghorbani"),
    ("بهرامی", "bahrami"),
    ("ملکی", "maleki"),
    ("افشار", "afshar"),
    ("پارسا", "parsa"),
    ("نیک‌نام", "niknam"),
    ("امینی", "amini"),
    ("باقری", "bagheri"),
    ("خسروی", "khosravi"),
    ("رستمی", "rostami"),
    ("ایزدی", "izadi"),
    ("کیانی", "kiani"),
];

/// Names written in Latin script: Iranians registered that way and foreign customers.
/// Given name, family name, whether the given name is female.
pub const LATIN_NAMES: &[(&str, &str, bool)] = &[
    ("Ali", "Rezaei", false),
    ("Sara", "Mohammadi", true),
    ("Dariush", "Kamali", false),
    ("Neda", "Farahani", true),
    ("John", "Miller", false),
    ("Emma", "Schmidt", true),
    ("Daniel", "Novak", false),
    ("Lena", "Fischer", true),
    ("Omar", "Haddad", false),
    ("Maria", "Rossi", true),
    ("Mehmet", "Yilmaz", false),
    ("Anna", "Kowalska", true),
];

/// Province, its cities, landline area code, share of customers (weight).
pub const PROVINCES: &[(&str, &[&str], &str, u32)] = &[
    ("تهران", &["تهران", "شهریار", "اسلامشهر", "ری"], "21", 34),
    ("اصفهان", &["اصفهان", "کاشان", "نجف‌آباد"], "31", 8),
    ("خراسان رضوی", &["مشهد", "نیشابور", "سبزوار"], "51", 8),
    ("فارس", &["شیراز", "مرودشت", "کازرون"], "71", 6),
    ("آذربایجان شرقی", &["تبریز", "مراغه", "مرند"], "41", 6),
    ("خوزستان", &["اهواز", "آبادان", "دزفول"], "61", 5),
    ("البرز", &["کرج", "نظرآباد"], "26", 6),
    ("قم", &["قم"], "25", 3),
    ("کرمان", &["کرمان", "رفسنجان", "سیرجان"], "34", 3),
    ("یزد", &["یزد", "میبد"], "35", 3),
    ("گیلان", &["رشت", "بندر انزلی", "لاهیجان"], "13", 4),
    ("مازندران", &["ساری", "بابل", "آمل"], "11", 4),
    ("گلستان", &["گرگان", "گنبد کاووس"], "17", 2),
    ("همدان", &["همدان", "ملایر"], "81", 2),
    ("کرمانشاه", &["کرمانشاه"], "83", 2),
    ("آذربایجان غربی", &["ارومیه", "خوی"], "44", 2),
    ("هرمزگان", &["بندرعباس", "قشم"], "76", 2),
];

pub const STREETS: &[&str] = &[
    "خیابان ولیعصر",
    "خیابان انقلاب",
    "بلوار کشاورز",
    "خیابان شریعتی",
    "خیابان آزادی",
    "بلوار امام رضا",
    "خیابان چهارباغ",
    "خیابان فردوسی",
    "بلوار معلم",
    "خیابان امام خمینی",
    "بلوار آزادگان",
    "خیابان طالقانی",
];

/// Mobile operator prefixes (after the leading 0).
pub const MOBILE_PREFIXES: &[&str] = &[
    "912", "913", "915", "919", "935", "936", "937", "901", "902", "990", "921", "930",
];

pub const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "chmail.ir",
    "mail.ir",
];

/// Field of study and the degree it usually comes with.
pub const STUDIES: &[(&str, domain::customers::EducationDegree)] = {
    use domain::customers::EducationDegree::*;
    &[
        ("مهندسی کامپیوتر", Bachelor),
        ("مدیریت بازرگانی", Master),
        ("حسابداری", Bachelor),
        ("پزشکی", Doctorate),
        ("حقوق", Master),
        ("مهندسی عمران", Bachelor),
        ("اقتصاد", Master),
        ("ادبیات فارسی", Bachelor),
        ("معماری", Master),
        ("الکترونیک", Associate),
    ]
};

/// Industry, the word organizations in it put in their name, its Latin form.
pub const INDUSTRIES: &[(&str, &str, &str)] = &[
    ("فناوری اطلاعات", "سامانه", "Systems"),
    ("فولاد و معدن", "فولاد", "Steel"),
    ("مواد غذایی", "غذا", "Foods"),
    ("پخش و توزیع", "پخش", "Distribution"),
    ("ساختمان", "سازه", "Construction"),
    ("داروسازی", "دارو", "Pharma"),
    ("بیمه", "بیمه", "Insurance"),
    ("گردشگری", "سیر", "Travel"),
    ("خودرو و قطعات", "خودرو", "Motors"),
    ("آموزش", "دانش", "Education"),
    ("بازرگانی", "تجارت", "Trading"),
    ("نساجی", "نساج", "Textiles"),
];

pub const ORGANIZATION_FORMS: &[&str] = &["شرکت", "گروه صنعتی", "مجتمع", "هلدینگ"];

/// The distinctive part of an organization's name, with its Latin form.
pub const ORGANIZATION_CORES: &[(&str, &str)] = &[
    ("پارس", "Pars"),
    ("آریا", "Arya"),
    ("سپهر", "Sepehr"),
    ("نوین", "Novin"),
    ("البرز", "Alborz"),
    ("کیان", "Kian"),
    ("ارغوان", "Arghavan"),
    ("دماوند", "Damavand"),
    ("زاگرس", "Zagros"),
    ("خزر", "Khazar"),
    ("سپاهان", "Sepahan"),
    ("مهر", "Mehr"),
    ("پیشگامان", "Pishgaman"),
    ("آسیا", "Asia"),
];

/// Personnel role and organizational unit.
pub const ROLES: &[(&str, &str)] = &[
    ("مدیرعامل", "مدیریت"),
    ("مدیر خرید", "بازرگانی"),
    ("کارشناس فروش", "فروش"),
    ("مدیر مالی", "مالی"),
    ("مدیر فنی", "فنی"),
    ("کارشناس تدارکات", "تدارکات"),
];

/// How customers heard of the business (source, channel) and the campaigns.
pub const ACQUISITION: &[(&str, &str)] = &[
    ("exhibition", "offline"),
    ("instagram", "social"),
    ("website", "online"),
    ("referral", "word_of_mouth"),
    ("google_ads", "online"),
    ("telegram", "social"),
    ("cold_call", "phone"),
    ("partner", "offline"),
    ("linkedin", "social"),
];

pub const CAMPAIGNS: &[&str] = &[
    "نمایشگاه الکامپ ۱۴۰۳",
    "کمپین نوروز ۱۴۰۴",
    "جشنواره یلدا",
    "وبینار معرفی محصول",
];

pub const TAGS: &[&str] = &[
    "مشتری وفادار",
    "VIP",
    "نیاز به پیگیری",
    "علاقه‌مند به تخفیف",
    "B2B",
];

pub const GROUPS: &[&str] = &[
    "مشتریان تهران",
    "نمایندگان فروش",
    "شرکت‌های دانش‌بنیان",
    "خریداران عمده",
];

/// Tier names, best first (their rank).
pub const TIERS: &[&str] = &["طلایی", "نقره‌ای", "برنزی"];

/// Note kind and texts written under it.
pub const NOTES: &[(domain::customers::NoteKind, &[&str])] = {
    use domain::customers::NoteKind::*;
    &[
        (
            CommunicationPreference,
            &[
                "ترجیح می‌دهد فقط پیامک دریافت کند، نه تماس تلفنی.",
                "بهترین زمان تماس: صبح‌ها پیش از ساعت ۱۱.",
                "فقط از طریق ایمیل با ایشان مکاتبه شود.",
                "Prefers messages in English; no calls on Fridays.",
            ],
        ),
        (
            Psychological,
            &[
                "دقیق و جزئی‌نگر؛ پیش از تصمیم همهٔ جزئیات فنی را می‌خواهد.",
                "به رابطهٔ شخصی اهمیت می‌دهد؛ احوال‌پرسی در آغاز تماس مهم است.",
                "حساس به قیمت؛ با تخفیف‌های مناسبتی تصمیم می‌گیرد.",
            ],
        ),
        (
            Call,
            &[
                "تماس پیگیری پیش‌فاکتور؛ قرار شد تا پایان هفته پاسخ دهد.",
                "درباره زمان تحویل سفارش پرسید.",
            ],
        ),
        (Meeting, &["جلسهٔ معرفی محصول در دفتر مشتری برگزار شد."]),
        (
            General,
            &[
                "کاتالوگ جدید محصولات را خواست.",
                "Asked for an English invoice.",
            ],
        ),
    ]
};
