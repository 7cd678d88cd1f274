"""The theme taxonomy shared by profiles and dialogue (ARCHITECTURE §2)."""

from __future__ import annotations

import enum
from types import MappingProxyType

from pydantic import BaseModel, Field


class Theme(enum.StrEnum):
    demography = "demography"
    intercultural = "intercultural"
    health = "health"
    education = "education"
    housing = "housing"
    urban_planning = "urban_planning"
    human_rights = "human_rights"
    co_development = "co_development"
    employment = "employment"


class ThemeInfo(BaseModel):
    code: Theme
    names: dict[str, str] = Field(description="Name by language (en, fr, ar).")
    descriptions: dict[str, str]


THEMES: MappingProxyType[Theme, ThemeInfo] = MappingProxyType(
    {
        info.code: info
        for info in (
            ThemeInfo(
                code=Theme.demography,
                names={"en": "Demography", "fr": "Démographie", "ar": "الديموغرافيا"},
                descriptions={
                    "en": "Migrant stocks and flows: who lives in the city, arrives and leaves.",
                    "fr": "Stocks et flux migratoires : qui vit dans la ville, arrive et part.",
                    "ar": "أعداد المهاجرين وتدفقاتهم: من يعيش في المدينة ومن يصل إليها ويغادرها.",
                },
            ),
            ThemeInfo(
                code=Theme.intercultural,
                names={
                    "en": "Intercultural relations",
                    "fr": "Interculturalité",
                    "ar": "العلاقات بين الثقافات",
                },
                descriptions={
                    "en": "Social cohesion, anti-discrimination and relations between communities.",
                    "fr": "Cohésion sociale, lutte contre les discriminations, relations entre communautés.",
                    "ar": "التماسك الاجتماعي ومكافحة التمييز والعلاقات بين المجتمعات.",
                },
            ),
            ThemeInfo(
                code=Theme.health,
                names={"en": "Health", "fr": "Santé", "ar": "الصحة"},
                descriptions={
                    "en": "Migrants' access to healthcare and health outcomes.",
                    "fr": "Accès des personnes migrantes aux soins et état de santé.",
                    "ar": "وصول المهاجرين إلى الرعاية الصحية ونتائجها.",
                },
            ),
            ThemeInfo(
                code=Theme.education,
                names={"en": "Education", "fr": "Éducation", "ar": "التعليم"},
                descriptions={
                    "en": "Schooling, training and language learning of migrants and their children.",
                    "fr": "Scolarisation, formation et apprentissage de la langue.",
                    "ar": "تعليم المهاجرين وأطفالهم وتدريبهم وتعلم اللغة.",
                },
            ),
            ThemeInfo(
                code=Theme.housing,
                names={"en": "Housing", "fr": "Logement", "ar": "السكن"},
                descriptions={
                    "en": "Access to housing, reception places and living conditions.",
                    "fr": "Accès au logement, places d'accueil et conditions de vie.",
                    "ar": "الوصول إلى السكن وأماكن الاستقبال وظروف المعيشة.",
                },
            ),
            ThemeInfo(
                code=Theme.urban_planning,
                names={"en": "Urban planning", "fr": "Urbanisme", "ar": "التخطيط الحضري"},
                descriptions={
                    "en": "Where migrants settle in the city and how neighbourhoods change.",
                    "fr": "Où les personnes migrantes s'installent et comment les quartiers évoluent.",
                    "ar": "أماكن استقرار المهاجرين في المدينة وتحولات الأحياء.",
                },
            ),
            ThemeInfo(
                code=Theme.human_rights,
                names={"en": "Human rights", "fr": "Droits humains", "ar": "حقوق الإنسان"},
                descriptions={
                    "en": "Legal status, protection, asylum and access to rights.",
                    "fr": "Statut juridique, protection, asile et accès aux droits.",
                    "ar": "الوضع القانوني والحماية واللجوء والوصول إلى الحقوق.",
                },
            ),
            ThemeInfo(
                code=Theme.co_development,
                names={"en": "Co-development", "fr": "Codéveloppement", "ar": "التنمية المشتركة"},
                descriptions={
                    "en": "Diasporas, remittances and ties with places of origin.",
                    "fr": "Diasporas, transferts de fonds et liens avec les pays d'origine.",
                    "ar": "الجاليات والتحويلات المالية والروابط مع بلدان المنشأ.",
                },
            ),
            ThemeInfo(
                code=Theme.employment,
                names={"en": "Employment", "fr": "Emploi", "ar": "التشغيل"},
                descriptions={
                    "en": "Work, entrepreneurship and labour-market inclusion.",
                    "fr": "Travail, entrepreneuriat et insertion sur le marché du travail.",
                    "ar": "العمل وريادة الأعمال والاندماج في سوق العمل.",
                },
            ),
        )
    }
)
