//! Invented names and notes for the demo. Real places, invented people.

use rand::Rng;
use rand::seq::SliceRandom;

/// County departments: code and name.
pub const DEPARTMENTS: &[(&str, &str)] = &[
    ("D-HQ", "县疫情防控指挥部"),
    ("D-HEALTH", "县卫生健康委员会"),
    ("D-TRANSPORT", "县交通运输局"),
    ("D-INDUSTRY", "县工业和信息化局"),
    ("D-HRSS", "县人力资源和社会保障局"),
    ("D-AGRI", "县农业农村局"),
    ("D-PSB", "县公安局"),
    ("D-MARKET", "县市场监督管理局"),
    ("D-COMMERCE", "县商务局"),
    ("D-POVERTY", "县扶贫开发办公室"),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "建华", "志强",
];

/// An invented full name.
pub fn person(rng: &mut impl Rng) -> String {
    format!("{}{}", SURNAMES.choose(rng).expect("non-empty"), GIVEN.choose(rng).expect("non-empty"))
}

/// A duty-log note about `village`, as a township cadre would write it.
pub fn duty_note(rng: &mut impl Rng, village: &str) -> String {
    let n: u32 = rng.gen_range(1..12);
    let notes = [
        format!("{village}村口值守正常，今日进出登记{n}人，体温均正常。"),
        format!("走访{village}返乡人员{n}户，均已落实居家观察。"),
        format!("{village}完成公共场所消毒一次，口罩库存充足。"),
        format!("{village}春耕备耕：已组织{n}户村民分散下田。"),
        format!("{village}外出务工人员登记{n}人，待统一健康证明后点对点输送。"),
        format!("{village}卡点夜间巡查一次，无异常。"),
    ];
    notes.choose(rng).expect("non-empty").clone()
}
