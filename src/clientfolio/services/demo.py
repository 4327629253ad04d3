"""A small, realistic demo data set, created through the same services as real work."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric, uscc

from clientfolio.domain.errors import Conflict
from clientfolio.domain.policy import Action
from clientfolio.services import auth, customers, documents, users, versions
from clientfolio.services.context import Vault, acting_user, authorize

DEMO_USERS = [("frontdesk", "clerk", False), ("li.manager", "manager", False),
              ("wang.am", "clerk", True), ("audit", "auditor", False), ("reader", "viewer", False)]
# Every demo user signs in with this (printed by `clientfolio demo`; change it with `clientfolio user passwd`).
DEMO_PASSWORD = "Clientfolio-Demo-2025"


def _resident_id(stem17: str) -> str:
    return stem17 + ric.calc_check_digit(stem17 + "0")  # stdnum drops the last character


def _credit_code(stem17: str) -> str:
    return stem17 + uscc.calc_check_digit(stem17)


def _contract(party: str, kind: str, year: int) -> bytes:
    return (f"{kind}\n甲方：深圳市前海示例科技有限公司\n乙方：{party}\n"
            f"第一条 服务内容：客户资料管理与归档服务。\n第二条 合同期限：{year}年1月1日至{year}年12月31日。\n"
            f"第三条 费用：人民币 120,000 元整。\n签署日期：{year}-01-01\n").encode()


def load_demo(*, vault: Vault, actor: str) -> dict:
    """Users, customers with identifiers, and documents of several categories and versions."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.USER_MANAGE, object_type="vault", object_id="demo")
        if uow.meta.get("demo_loaded"):
            raise Conflict("the demo data set is already loaded in this vault")
        uow.meta.set("demo_loaded", "1")
        uow.commit()
    for name, role, own in DEMO_USERS:
        users.add_user(vault=vault, actor=actor, name=name, role=role, own_customers_only=own)
        auth.set_password(vault=vault, actor=actor, name=name, new_password=DEMO_PASSWORD)
    with_password = [u[0] for u in DEMO_USERS]
    with vault.uow() as uow:
        has_own = uow.users.by_name(str(actor)).password_hash is not None
    if not has_own:  # the administrator running the demo gets it too, unless they already chose one
        auth.set_password(vault=vault, actor=actor, name=str(actor), new_password=DEMO_PASSWORD)
        with_password.append(str(actor))
    zhang = customers.add_customer(
        vault=vault, actor=actor, name="张伟", kind="person", tier="key", owner="wang.am",
        phone="13800138000", email="zhang.wei@example.com",
        identifiers={"resident_id": _resident_id("11010519491231002")})
    firm = customers.add_customer(
        vault=vault, actor=actor, name="上海星河贸易有限公司", kind="organization", tier="standard",
        owner="li.manager", phone="+86 21 6288 8888",
        identifiers={"credit_code": _credit_code("91310000MA1FL0T0A")})
    lin = customers.add_customer(vault=vault, actor=actor, name="Lin Mei", kind="person", tier="prospect",
                                 identifiers={"passport": "E12345678"})
    add = documents.add_document
    card = add(vault=vault, actor="frontdesk", customer_code=zhang.code, category="id_document",
               subtype="resident_id", content=[b"[scan] resident ID card of Zhang Wei, front and back"],
               original_name="身份证扫描.txt", title="张伟 居民身份证", issued_on=date(2016, 3, 1),
               expires_on=date(2026, 3, 1), paper_location="A柜-3层-12号")
    contract = add(vault=vault, actor="frontdesk", customer_code=zhang.code, category="contract",
                   subtype="initial", content=[_contract("张伟", "初步合同", 2025)], original_name="合同草稿.txt",
                   title="2025 服务合同", tags=["服务", "2025"], issued_on=date(2025, 1, 1))
    versions.add_version(vault=vault, actor="frontdesk", document_id=contract.id,
                         content=[_contract("张伟", "正式合同", 2025)], original_name="合同定稿.txt",
                         note="signed final text")
    add(vault=vault, actor="frontdesk", customer_code=firm.code, category="id_document",
        subtype="business_licence", content=[b"[scan] business licence, Shanghai Xinghe Trading"],
        original_name="license.txt", title="营业执照", expires_on=date(2027, 6, 30))
    add(vault=vault, actor="frontdesk", customer_code=firm.code, category="finance", subtype="invoice",
        content=[b"Invoice 2025-0042\nAmount: CNY 36,000.00\n"], original_name="invoice.txt",
        title="Invoice 2025-0042", tags=["2025"])
    add(vault=vault, actor="frontdesk", customer_code=lin.code, category="communication",
        content=[b"Call notes: Lin Mei asked for an English copy of the service terms.\n"],
        original_name="call.txt", title="First call")
    add(vault=vault, actor="frontdesk", customer_code=zhang.code, category="signature_specimen",
        content=[b"[scan] signature specimen of Zhang Wei"], original_name="sig.txt", title="签名样本")
    return {"users": [u[0] for u in DEMO_USERS], "customers": [zhang.code, firm.code, lin.code],
            "documents": 6, "id_card_document": card.id,
            "demo_password": DEMO_PASSWORD, "users_with_demo_password": with_password}
