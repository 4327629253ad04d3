"""Generated customer papers of six kinds, for the classifier: realistic Chinese (with some English) text
built from per-kind sentence pools and shared names, companies, places, dates and amounts, so that every
document is different and the kinds share much of their vocabulary (no single template line gives one away).
"""

from __future__ import annotations

import random

SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "建华", "志强", "海燕"]
CITIES = ["上海", "北京", "深圳", "杭州", "苏州", "成都", "武汉", "南京", "广州", "天津"]
TRADES = ["星河贸易", "恒通物流", "华信科技", "宏达建材", "瑞丰食品", "博远咨询", "金桥电子", "安泰医疗"]
GOODS = ["办公桌椅", "笔记本电脑", "打印纸", "不锈钢管材", "包装纸箱", "服务器", "空调设备", "电缆"]
BANKS = ["中国工商银行", "招商银行", "中国建设银行", "交通银行", "中国银行"]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def company(rng: random.Random) -> str:
    return f"{rng.choice(CITIES)}{rng.choice(TRADES)}有限公司"


def day(rng: random.Random) -> str:
    return f"{rng.randint(2019, 2025)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"


def money(rng: random.Random) -> str:
    return f"{rng.randint(1, 900) * 100 + rng.randint(0, 99):,}.{rng.randint(0, 99):02d}"


def _contract(r: random.Random) -> list[str]:
    return [
        f"{r.choice(['购销', '劳动', '技术服务', '房屋租赁', '委托代理'])}合同",
        f"甲方：{company(r)}，乙方：{person(r)}。",
        f"双方本着平等自愿的原则，经友好协商，于{day(r)}签订本合同。",
        f"合同总价款为人民币{money(r)}元，乙方应于收到货物后三十日内付清。",
        "任何一方违反本合同约定的，应当承担违约责任，并赔偿对方因此遭受的损失。",
        f"本合同有效期自{day(r)}起至{day(r)}止，期满前一个月双方协商续订事宜。",
        f"因履行本合同发生的争议，提交{r.choice(CITIES)}仲裁委员会仲裁。",
        "本合同一式两份，甲乙双方各执一份，具有同等法律效力。",
        "未经对方书面同意，任何一方不得将本合同项下的权利义务转让给第三方。",
        "The parties agree that this contract is governed by the laws of the People's Republic of China.",
        f"乙方应保守在履行合同过程中知悉的甲方商业秘密，保密期限为{r.randint(2, 5)}年。",
        f"甲方（盖章）：{company(r)}    乙方（签字）：{person(r)}",
    ]


def _invoice(r: random.Random) -> list[str]:
    return [
        f"{r.choice(CITIES)}增值税{r.choice(['专用', '普通', '电子普通'])}发票",
        f"发票代码：{r.randint(10**9, 10**10 - 1)}  发票号码：{r.randint(10**7, 10**8 - 1)}",
        f"开票日期：{day(r)}",
        f"购买方名称：{company(r)}  纳税人识别号：91{r.randint(10**15, 10**16 - 1)}",
        f"销售方名称：{company(r)}  开户行及账号：{r.choice(BANKS)} {r.randint(10**15, 10**16 - 1)}",
        f"货物或应税劳务名称：{r.choice(GOODS)}  规格型号：{r.choice('ABCDEF')}-{r.randint(10, 99)}  "
        f"数量：{r.randint(1, 500)}  单价：{money(r)}",
        f"金额：{money(r)}  税率：{r.choice(['13%', '9%', '6%', '3%'])}  税额：{money(r)}",
        f"价税合计（大写）：{r.choice(['壹', '贰', '叁', '伍'])}万{r.choice(['肆', '陆', '柒'])}仟元整  （小写）¥{money(r)}",
        f"收款人：{person(r)}  复核：{person(r)}  开票人：{person(r)}",
        "Invoice total including VAT; please pay within 30 days.",
        "备注：本发票已通过税务系统验证，请妥善保管。",
    ]


def _receipt(r: random.Random) -> list[str]:
    return [
        f"{r.choice(BANKS)}{r.choice(['电子回单', '业务回单', '转账回单'])}",
        f"交易日期：{day(r)}  回单编号：{r.randint(10**11, 10**12 - 1)}",
        f"付款人户名：{company(r)}  付款账号：{r.randint(10**15, 10**16 - 1)}",
        f"收款人户名：{person(r)}  收款账号：{r.randint(10**15, 10**16 - 1)}",
        f"收款银行：{r.choice(BANKS)}{r.choice(CITIES)}分行",
        f"交易金额：人民币{money(r)}元  手续费：{r.randint(0, 50)}.00元",
        f"摘要：{r.choice(['货款', '服务费', '租金', '工资', '报销款'])}  用途：{r.choice(GOODS)}款项",
        f"交易流水号：{r.randint(10**13, 10**14 - 1)}  渠道：{r.choice(['网上银行', '柜面', '手机银行'])}",
        "本回单仅作为客户交易凭证，重复打印无效。",
        "Transfer completed. Funds credited to the payee account.",
        f"经办：{person(r)}  打印时间：{day(r)}",
    ]


def _communication(r: random.Random) -> list[str]:
    return [
        f"{r.choice(['会议纪要', '沟通记录', '电话记录', '拜访记录'])}",
        f"时间：{day(r)} 下午{r.randint(1, 5)}点  地点：{r.choice(CITIES)}办公室",
        f"参加人员：{person(r)}、{person(r)}（{company(r)}）、客户经理{person(r)}",
        f"客户反映上月交付的{r.choice(GOODS)}存在延迟，希望我们尽快给出解决方案。",
        "双方讨论了下一阶段的合作计划，客户对目前的服务总体满意。",
        f"会议决定由{person(r)}负责跟进，下周{r.choice('一二三四五')}前回复客户。",
        "客户询问能否调整付款周期，我方表示需要内部审批后再答复。",
        f"后续事项：整理报价单并通过邮件发给{person(r)}，抄送部门负责人。",
        "Follow up by email next week; the client asked for an updated proposal.",
        f"记录人：{person(r)}  日期：{day(r)}",
    ]


def _signed_form(r: random.Random) -> list[str]:
    return [
        f"{r.choice(['业务办理确认书', '客户信息变更申请表', '授权委托书', '开户申请表', '风险告知书'])}",
        f"申请人：{person(r)}  联系电话：1{r.randint(3, 9)}{r.randint(10**8, 10**9 - 1)}",
        f"本人{person(r)}已仔细阅读并充分理解上述各项条款，自愿办理相关业务。",
        f"本人授权{person(r)}代为办理{r.choice(['账户变更', '资料领取', '合同签署', '退款'])}事宜，由此产生的法律后果由本人承担。",
        "本人声明所提供的信息真实、准确、完整，如有虚假愿承担相应责任。",
        "本人已知悉上述风险提示，并同意按照约定办理。",
        f"申请日期：{day(r)}",
        f"客户签名：{person(r)}      经办人签字：{person(r)}",
        f"单位（盖章）：{company(r)}",
        "I confirm that the information above is true and I consent to the processing described.",
    ]


def _licence(r: random.Random) -> list[str]:
    return [
        "营业执照（副本）",
        f"统一社会信用代码 91{r.randint(10**15, 10**16 - 1)}",
        f"名称 {company(r)}",
        f"类型 {r.choice(['有限责任公司（自然人投资或控股）', '股份有限公司', '有限责任公司（法人独资）'])}",
        f"法定代表人 {person(r)}",
        f"注册资本 人民币{r.randint(10, 5000)}万元整",
        f"成立日期 {day(r)}",
        f"营业期限 {day(r)}至长期",
        f"经营范围 {r.choice(GOODS)}、{r.choice(GOODS)}的销售；技术咨询、技术服务。（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
        f"住所 {r.choice(CITIES)}市{r.choice(['浦东新区', '海淀区', '南山区', '西湖区'])}某路{r.randint(1, 999)}号",
        f"登记机关 {r.choice(CITIES)}市市场监督管理局  {day(r)}",
    ]


KINDS = {
    ("contract", "formal"): _contract,
    ("finance", "invoice"): _invoice,
    ("finance", "receipt"): _receipt,
    ("communication", None): _communication,
    ("signed_form", None): _signed_form,
    ("id_document", "business_licence"): _licence,
}


def paper(rng: random.Random, kind: tuple[str, str | None]) -> str:
    """One generated paper: a random half or more of its kind's lines, in order; the title line (the most
    telling one) is missing from a third of them, as from a page scanned without its top."""
    lines = KINDS[kind](rng)
    body = sorted(rng.sample(range(1, len(lines)), k=rng.randint(len(lines) // 2, len(lines) - 1)))
    title = [lines[0]] if rng.random() > 1 / 3 else []
    return "\n".join(title + [lines[i] for i in body]) + "\n"
