"""Seed the purposes of policy 2.1.1-2.1.5 and the four cookie categories of CM-10.

The rows are copied here as they were when this migration was written, so the migration does not
change when consent/seed.py does (that module feeds the post_migrate receiver that puts back rows
a flush removed). Existing rows are never overwritten.
"""

from django.db import migrations

PURPOSES = [
    {
        "key": "personalised_content",
        "policy_clause": "2.1.1",
        "legal_basis": "consent",
        "consent_required": True,
        "is_marketing": False,
        "continues_when_restricted": False,
        "stops_on_gpc": False,
        "position": 1,
        "name": "Personalised content",
        "name_ko": "맞춤형 콘텐츠 제공",
        "description": "Personalised content based on usage statistics and analysis (policy 2.1.1). "
        "Legal basis: your consent; the service works without it.",
        "description_ko": "이용 통계 및 분석에 기반한 맞춤형 콘텐츠 제공(방침 2.1.1). "
        "법적 근거: 정보주체의 동의이며, 동의하지 않아도 서비스를 이용할 수 있습니다.",
    },
    {
        "key": "marketing",
        "policy_clause": "2.1.2",
        "legal_basis": "consent",
        "consent_required": True,
        "is_marketing": True,
        "continues_when_restricted": False,
        "stops_on_gpc": True,
        "position": 2,
        "name": "Marketing and promotions",
        "name_ko": "마케팅 및 광고 활용",
        "description": "Event information, participation opportunities and advertising by email, SMS, "
        "push or messenger (policy 2.1.2). Legal basis: your separate, optional consent "
        "(PIPA art. 22(1) item 7, Network Act art. 50). You can withdraw at any time at no cost.",
        "description_ko": "이벤트 정보, 참여 기회, 광고성 정보를 이메일·문자·푸시·메신저로 전송(방침 2.1.2). "
        "법적 근거: 별도의 선택 동의(개인정보 보호법 제22조 제1항 제7호, 정보통신망법 제50조). "
        "언제든지 무료로 철회할 수 있습니다.",
    },
    {
        "key": "security",
        "policy_clause": "2.1.3",
        "legal_basis": "legal_obligation",
        "consent_required": False,
        "is_marketing": False,
        "continues_when_restricted": True,
        "stops_on_gpc": False,
        "position": 3,
        "name": "Security",
        "name_ko": "안전한 서비스 환경 구축",
        "description": "Building a secure service environment for privacy protection (policy 2.1.3). "
        "Legal basis: the company's legal obligation to protect personal data (PIPA art. 29).",
        "description_ko": "개인정보 보호를 위한 안전한 서비스 환경 구축(방침 2.1.3). "
        "법적 근거: 개인정보의 안전성 확보 의무(개인정보 보호법 제29조).",
    },
    {
        "key": "service_improvement",
        "policy_clause": "2.1.4",
        "legal_basis": "legitimate_interest",
        "consent_required": False,
        "is_marketing": False,
        "continues_when_restricted": False,
        "stops_on_gpc": False,
        "position": 4,
        "name": "Service improvement and new services",
        "name_ko": "서비스 개선 및 신규 서비스 개발",
        "description": "Service improvement, new service development, inquiry handling and notices "
        "(policy 2.1.4). Legal basis: the company's legitimate interest (PIPA art. 15(1) item 6).",
        "description_ko": "서비스 개선, 신규 서비스 개발, 문의 처리 및 공지(방침 2.1.4). "
        "법적 근거: 회사의 정당한 이익(개인정보 보호법 제15조 제1항 제6호).",
    },
    {
        "key": "third_party_integration",
        "policy_clause": "2.1.5",
        "legal_basis": "consent",
        "consent_required": True,
        "is_marketing": False,
        "continues_when_restricted": False,
        "stops_on_gpc": True,
        "position": 5,
        "name": "Third-party integration",
        "name_ko": "제3자 연동 서비스",
        "description": "Third-party integration services such as social media sharing and ad performance "
        "analysis (policy 2.1.5, 3.1.2). Legal basis: your consent.",
        "description_ko": "소셜 미디어 공유, 광고 성과 분석 등 제3자 연동 서비스 제공(방침 2.1.5, 3.1.2). "
        "법적 근거: 정보주체의 동의.",
    },
]

COOKIE_CATEGORIES = [
    {
        "key": "necessary",
        "always_on": True,
        "off_under_gpc": False,
        "vendor_tag": "",
        "position": 1,
        "name": "Strictly necessary",
        "name_ko": "필수",
        "description": "Needed for the website to work and to remember this choice. Always on.",
        "description_ko": "웹사이트 작동과 이 선택을 기억하는 데 필요합니다. 항상 사용됩니다.",
    },
    {
        "key": "preferences",
        "always_on": False,
        "off_under_gpc": False,
        "vendor_tag": "",
        "position": 2,
        "name": "Preferences",
        "name_ko": "기능",
        "description": "Remember your settings, such as language, on your next visit (policy 1.3.2).",
        "description_ko": "다음 방문 시 언어 등 설정을 기억합니다(방침 1.3.2).",
    },
    {
        "key": "statistics",
        "always_on": False,
        "off_under_gpc": False,
        "vendor_tag": "google_analytics",
        "position": 3,
        "name": "Statistics",
        "name_ko": "통계",
        "description": "Google Analytics measures how the website is used (policy 3.1, user data analysis).",
        "description_ko": "Google Analytics로 웹사이트 이용 현황을 분석합니다(방침 3.1, 이용자 데이터 분석).",
    },
    {
        "key": "marketing",
        "always_on": False,
        "off_under_gpc": True,
        "vendor_tag": "meta_pixel",
        "position": 4,
        "name": "Marketing",
        "name_ko": "마케팅",
        "description": "The Meta pixel measures advertising (policy 3.1). Off when your browser sends "
        "Global Privacy Control.",
        "description_ko": "Meta 픽셀로 광고 성과를 측정합니다(방침 3.1). 브라우저가 GPC 신호를 보내면 꺼집니다.",
    },
]


def seed(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    CookieCategory = apps.get_model("consent", "CookieCategory")
    for row in PURPOSES:
        Purpose.objects.get_or_create(key=row["key"], defaults=row)
    for row in COOKIE_CATEGORIES:
        CookieCategory.objects.get_or_create(key=row["key"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
