"""Demo catalogue: about 200 products of 株洲's counties across the demo stations.

Deterministic (seeded by station ids in order) and run once: when any product
exists the step does nothing. Most products are on sale; some wait for review,
some were rejected (with the reason the station sees), some are off the shelf.
Certification is given only where the rules allow it (a registered poor
household or a poverty village). Each product gets a generated placeholder
photo stored through the storage interface.
"""

import io
import random
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont

from core.db import utcnow
from core.extensions import db
from core.models import Role, User
from shop.images import ProcessedImage, store_image
from shop.listing import record_review_event
from shop.models import Product, ProductStatus, ReviewAction, Sku
from villages.models import Seller, Station, StationStatus, Village

TARGET_PRODUCTS = 200

# title, category, unit, description, SKUs (name, price in fen)
Template = tuple[str, str, str, str, tuple[tuple[str, int], ...]]

COUNTY_PRODUCTS: dict[str, tuple[Template, ...]] = {
    "430225": (  # 炎陵县
        (
            "炎陵黄桃",
            "fruit",
            "箱",
            "海拔八百米高山果园，果肉金黄、香甜多汁，七八月现摘现发。",
            (("5斤装", 6800), ("10斤装", 12800), ("礼盒装12个", 9800)),
        ),
        (
            "炎陵笋干",
            "dried_goods",
            "袋",
            "春笋切片晒干，肉厚脆嫩，炖肉炒菜皆宜。",
            (("500克", 3900), ("1000克", 7200)),
        ),
        (
            "炎陵冬笋",
            "vegetables",
            "箱",
            "山里现挖冬笋，带壳发货，鲜嫩少渣。",
            (("5斤装", 4500), ("10斤装", 8600)),
        ),
        (
            "炎陵红薯干",
            "dried_goods",
            "袋",
            "本地红心薯蒸晒三遍，软糯香甜，无添加。",
            (("500克", 1990), ("1000克", 3680)),
        ),
        (
            "炎陵高山云雾茶",
            "tea",
            "罐",
            "高山云雾绿茶，明前采摘，汤色清亮。",
            (("100克", 8800), ("250克", 19800)),
        ),
        (
            "炎陵山茶油",
            "grain_oil",
            "桶",
            "野山茶籽传统压榨，色泽金黄，清香不腻。",
            (("2.5升", 26800), ("5升", 49800)),
        ),
        (
            "炎陵土蜂蜜",
            "local_food",
            "瓶",
            "山区中华蜂百花蜜，一年一取。",
            (("500克", 6800), ("1000克", 12800)),
        ),
        ("炎陵农家腊肉", "meat_eggs", "袋", "土猪肉柴火熏制，肥瘦相间。", (("1斤", 5800), ("2斤", 10800))),
    ),
    "430224": (  # 茶陵县
        (
            "茶陵紫皮大蒜",
            "vegetables",
            "箱",
            "茶陵三宝之一，紫皮独瓣多，辛香浓郁。",
            (("5斤装", 3500), ("10斤装", 6500)),
        ),
        (
            "茶陵白芷",
            "herbs",
            "袋",
            "茶陵三宝之一，切片晒干，药食同源，可炖汤做卤料。",
            (("250克", 3200), ("500克", 5800)),
        ),
        (
            "茶陵生姜",
            "vegetables",
            "箱",
            "茶陵三宝之一，黄心老姜，辣味足。",
            (("3斤装", 1990), ("5斤装", 2990)),
        ),
        (
            "茶陵大米",
            "grain_oil",
            "袋",
            "洣水河畔一季稻，粒粒饱满，煮饭清香。",
            (("10斤", 5990), ("25斤", 13800)),
        ),
        ("茶陵山茶油", "grain_oil", "桶", "山茶籽冷榨，原香浓郁。", (("2.5升", 25800), ("5升", 47800))),
        ("茶陵土鸡蛋", "meat_eggs", "盒", "山地散养土鸡所产，蛋黄橙红。", (("30枚", 4500), ("60枚", 8500))),
    ),
    "430223": (  # 攸县
        (
            "攸县香干",
            "local_food",
            "袋",
            "攸县传统手工香干，柴火卤制，豆香浓郁。",
            (("10片装", 2500), ("20片装", 4600)),
        ),
        ("攸县麻鸭", "meat_eggs", "只", "稻田放养麻鸭，肉质紧实，宰杀后冷链发货。", (("整只约2斤", 8800),)),
        (
            "攸县山茶油",
            "grain_oil",
            "桶",
            "攸县油茶林鲜果压榨，一级压榨茶油。",
            (("2.5升", 24800), ("5升", 46800)),
        ),
        ("攸县豆腐乳", "local_food", "瓶", "农家自制霉豆腐，香辣下饭。", (("2瓶装", 2980), ("4瓶装", 5580))),
        (
            "攸县红薯粉丝",
            "dried_goods",
            "袋",
            "纯红薯淀粉手工漏制，久煮不烂。",
            (("2斤", 2980), ("5斤", 6980)),
        ),
    ),
    "430281": (  # 醴陵市
        (
            "醴陵釉下五彩瓷茶具",
            "handicrafts",
            "套",
            "醴陵釉下五彩瓷，手工彩绘，一壶四杯。",
            (("一壶四杯", 38800), ("一壶六杯", 52800)),
        ),
        (
            "醴陵手绘瓷碗",
            "handicrafts",
            "套",
            "釉下彩手绘，耐高温、可进洗碗机。",
            (("4只装", 12800), ("6只装", 18800)),
        ),
        ("醴陵米粉", "local_food", "袋", "早稻米水磨制粉，爽滑筋道。", (("2斤", 1990), ("5斤", 4500))),
        (
            "醴陵农家大米",
            "grain_oil",
            "袋",
            "渌江两岸稻田所产，新米现碾。",
            (("10斤", 5500), ("25斤", 12800)),
        ),
    ),
    "430212": (  # 渌口区
        (
            "渌口湘江鱼干",
            "aquatic",
            "袋",
            "湘江鲜鱼腌制晾晒，烟熏香浓。",
            (("500克", 4800), ("1000克", 8800)),
        ),
        ("渌口散养土鸡", "meat_eggs", "只", "林下散养一年以上，冷链发货。", (("整只约3斤", 12800),)),
        ("渌口西瓜", "fruit", "个", "沙地西瓜，皮薄瓤红。", (("单个约8斤", 3500), ("两个装", 6500))),
    ),
}
GENERIC_PRODUCTS: tuple[Template, ...] = (
    ("农家土鸡蛋", "meat_eggs", "盒", "山地散养土鸡蛋，现捡现发。", (("30枚", 4200), ("60枚", 7800))),
    ("农家剁辣椒", "local_food", "瓶", "本地红尖椒手工剁制，鲜辣开胃。", (("2瓶装", 2580), ("4瓶装", 4800))),
    ("农家干辣椒", "dried_goods", "袋", "自家种植朝天椒，自然晒干。", (("500克", 2800),)),
    ("应季有机蔬菜", "vegetables", "箱", "当天采摘的应季蔬菜组合，约5斤。", (("一箱约5斤", 3980),)),
    ("野生猕猴桃", "fruit", "箱", "山里野生猕猴桃，个小味浓。", (("5斤装", 5800),)),
    ("葛根粉", "dried_goods", "袋", "山里野葛根水洗沉淀，冲泡即食。", (("500克", 3980), ("1000克", 7200))),
)

CATEGORY_COLOURS = {
    "fruit": (245, 166, 35),
    "vegetables": (110, 176, 70),
    "grain_oil": (214, 178, 92),
    "tea": (70, 130, 80),
    "meat_eggs": (196, 90, 70),
    "aquatic": (70, 140, 190),
    "dried_goods": (160, 110, 70),
    "local_food": (200, 120, 60),
    "herbs": (130, 150, 110),
    "handicrafts": (60, 100, 170),
}
REJECTION_REASONS = (
    "图片不清晰，请补拍实物照片",
    "价格明显偏离市场价，请核实",
    "规格描述不完整，请写明净含量",
    "产地信息与服务站不符，请核实",
)
# Fonts that can draw Chinese, where a machine has one; otherwise the tile carries no text.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
IMAGE_EDGE = 640


def _cjk_font(size: int):
    for path in CJK_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return None


def _encode(image: Image.Image, quality: int = 82) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def placeholder_photo(title: str, category: str, number: int) -> ProcessedImage:
    """A square tile in the category's colour with the product name (when a CJK font exists)."""
    base = CATEGORY_COLOURS.get(category, (150, 150, 150))
    image = Image.new("RGB", (IMAGE_EDGE, IMAGE_EDGE), base)
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, channel + 60) for channel in base)
    rng = random.Random(number)
    for _ in range(6):  # a few soft discs so tiles do not all look alike
        x, y, r = rng.randint(0, IMAGE_EDGE), rng.randint(0, IMAGE_EDGE), rng.randint(60, 180)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=light)
    draw.rectangle((0, IMAGE_EDGE - 150, IMAGE_EDGE, IMAGE_EDGE), fill=(255, 255, 255))
    font = _cjk_font(56)
    if font is not None:
        draw.text((IMAGE_EDGE // 2, IMAGE_EDGE - 75), title[:10], font=font, fill=base, anchor="mm")
    else:
        draw.text((24, IMAGE_EDGE - 110), f"#{number}", font=ImageFont.load_default(64), fill=base)
    thumbnail = image.resize((400, 400), Image.Resampling.BILINEAR)  # flat colours: no need for Lanczos
    return ProcessedImage(_encode(image), _encode(thumbnail), IMAGE_EDGE, IMAGE_EDGE)


def _reviewer_for(county_code: str, reviewers: dict[str, User], fallback: User | None) -> User | None:
    return reviewers.get(county_code, fallback)


def _reviewers() -> tuple[dict[str, User], User | None]:
    admins = db.session.scalars(sa.select(User).where(User.username.is_not(None))).all()
    by_county = {}
    for user in admins:
        for grant in user.grants:
            if grant.role == Role.COUNTY_ADMIN and grant.region_code:
                by_county.setdefault(grant.region_code, user)
    platform = next((u for u in admins if u.has_role(Role.PLATFORM_ADMIN)), None)
    return by_county, platform


def _status(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.80:
        return ProductStatus.ON_SALE
    if roll < 0.88:
        return ProductStatus.PENDING_REVIEW
    if roll < 0.94:
        return ProductStatus.REJECTED
    return ProductStatus.OFF_SHELF


def _add_product(station: Station, seller: Seller, template: Template, rng: random.Random, number: int):
    name, category, unit, description, skus = template
    village = station.village.name.removesuffix("（演示）")
    product = Product(
        station=station,
        seller=seller,
        category_slug=category,
        origin_village_code=station.village_code,
        title=f"{name}·{village}"[:60],
        description=description,
        unit=unit,
        status=ProductStatus.PENDING_REVIEW,
        skus=[
            # Prices vary a little between villages; whole yuan minus 10 fen, as shops price.
            Sku(
                name=sku,
                price_fen=max(100, int(round(price * rng.uniform(0.9, 1.1), -2)) - 10),
                stock=rng.choice((0, 8, 20, 50, 120, 300)),
                position=position,
            )
            for position, (sku, price) in enumerate(skus)
        ],
    )
    product.min_price_fen = min(sku.price_fen for sku in product.skus)
    db.session.add(product)
    db.session.flush()
    store_image(product, placeholder_photo(name, category, number), None)
    return product


def _review(product: Product, status: str, reviewer: User | None, rng: random.Random, certify: bool, number: int):
    """Walk the product through review to ``status``, leaving the trail a real one would."""
    when = utcnow() - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 1440))
    decided = when + timedelta(hours=rng.randint(2, 48))
    product.submitted_at = product.created_at = when
    record_review_event(product, ReviewAction.SUBMITTED, None, created_at=when)
    if status == ProductStatus.PENDING_REVIEW:
        return
    if status == ProductStatus.REJECTED:
        product.status, product.rejection_reason = ProductStatus.REJECTED, rng.choice(REJECTION_REASONS)
        record_review_event(
            product, ReviewAction.REJECTED, reviewer, reason=product.rejection_reason, created_at=decided
        )
        return
    product.status, product.published_at = ProductStatus.ON_SALE, decided
    product.sales_count = rng.choice((0, 3, 12, 35, 80, 160, 420))
    record_review_event(product, ReviewAction.APPROVED, reviewer, created_at=decided)
    if certify:
        product.poverty_certified = True
        product.certificate_no = f"ZZFP-{product.station.village_code[:6]}-{number:04d}"
        product.certified_on = decided.date()
        product.certified_by_id = reviewer.id if reviewer else None
        record_review_event(
            product, ReviewAction.CERTIFIED, reviewer, certificate_no=product.certificate_no, created_at=decided
        )
    if status == ProductStatus.OFF_SHELF:
        product.status = ProductStatus.OFF_SHELF
        record_review_event(product, ReviewAction.TAKEN_OFF_SHELF, None, reason="当季已售完", created_at=utcnow())


def _plan(stations: list[Station], manager_station: Station | None) -> list[tuple[Station, str | None]]:
    """Which station lists each product; the demo manager's station shows every status first."""
    plan: list[tuple[Station, str | None]] = []
    if manager_station is not None and manager_station in stations:
        plan = [
            (manager_station, status)
            for status in (
                ProductStatus.ON_SALE,
                ProductStatus.ON_SALE,
                ProductStatus.REJECTED,
                ProductStatus.PENDING_REVIEW,
            )
        ]
    while len(plan) < TARGET_PRODUCTS:
        plan.extend((station, None) for station in stations[: TARGET_PRODUCTS - len(plan)])
    return plan


def seed_catalogue(manager_station: Station | None = None) -> dict:
    """Seed once; returns counts (empty when products already exist)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Product)):
        return {}
    sellers: dict[int, list[Seller]] = {}
    for seller in db.session.scalars(sa.select(Seller).order_by(Seller.id)):
        sellers.setdefault(seller.station_id, []).append(seller)
    stations = [
        station
        for station in db.session.scalars(
            sa.select(Station).where(Station.status == StationStatus.ACTIVE).order_by(Station.id)
        )
        if sellers.get(station.id)
    ]
    if not stations:
        return {}
    poverty = set(db.session.scalars(sa.select(Village.code).where(Village.is_poverty_village.is_(True))))
    reviewers, platform = _reviewers()
    counts = {"products": 0, "on_sale": 0, "certified": 0}
    for number, (station, forced) in enumerate(_plan(stations, manager_station), start=1):
        rng = random.Random(number)
        specialities = COUNTY_PRODUCTS.get(station.village_code[:6])
        # Mostly the county's own specialities; everywhere also eggs, chillies, vegetables …
        templates = specialities if specialities and rng.random() < 0.75 else GENERIC_PRODUCTS
        seller = rng.choice(sellers[station.id])
        product = _add_product(station, seller, rng.choice(templates), rng, number)
        status = forced or _status(rng)
        eligible = seller.poor_household or station.village_code in poverty
        certify = status in (ProductStatus.ON_SALE, ProductStatus.OFF_SHELF) and eligible and rng.random() < 0.6
        _review(
            product,
            status,
            _reviewer_for(station.village_code[:6], reviewers, platform),
            rng,
            certify,
            number,
        )
        counts["products"] += 1
        counts["on_sale"] += product.status == ProductStatus.ON_SALE
        counts["certified"] += product.poverty_certified
    db.session.flush()
    return counts
