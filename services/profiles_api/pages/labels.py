"""The words of profiles' public pages in en, fr and ar (the layout's are in shared.pages)."""

from __future__ import annotations

from typing import Final

from shared.pages.labels import Labels

PROFILES_LABELS: Final[Labels] = {
    "index_title": {
        "en": "The network's cities and their data",
        "fr": "Les villes du réseau et leurs données",
        "ar": "مدن الشبكة وبياناتها",
    },
    "index_intro": {
        "en": "Each city's migration profile, and how many of the catalogue's indicators have "
        "data for it, theme by theme (indicators with data / indicators of the theme).",
        "fr": "Le profil migratoire de chaque ville, et combien des indicateurs du catalogue "
        "ont des données pour elle, thème par thème (indicateurs renseignés / indicateurs du "
        "thème).",
        "ar": "الملف التعريفي للهجرة لكل مدينة، وعدد مؤشرات الفهرس التي تتوفر لها بيانات، "
        "محوراً محوراً (المؤشرات ذات البيانات / مؤشرات المحور).",
    },
    "coverage_caption": {
        "en": "Data coverage by theme",
        "fr": "Couverture des données par thème",
        "ar": "تغطية البيانات حسب المحور",
    },
    "city": {"en": "City", "fr": "Ville", "ar": "المدينة"},
    "country": {"en": "Country", "fr": "Pays", "ar": "البلد"},
    "membership": {"en": "Membership", "fr": "Adhésion", "ar": "العضوية"},
    "confirmed": {"en": "confirmed", "fr": "confirmée", "ar": "مؤكدة"},
    "expected": {"en": "expected", "fr": "attendue", "ar": "متوقعة"},
    "all_themes": {"en": "All themes", "fr": "Tous les thèmes", "ar": "جميع المحاور"},
    "coverage_cell": {
        "en": "{with_data} of {indicators}",
        "fr": "{with_data} sur {indicators}",
        "ar": "{with_data} من {indicators}",
    },
    "no_cities": {
        "en": "No city in the network yet.",
        "fr": "Aucune ville dans le réseau pour l'instant.",
        "ar": "لا توجد مدينة في الشبكة بعد.",
    },
    "profile": {"en": "Profile", "fr": "Profil", "ar": "الملف"},
    "editions": {"en": "Editions", "fr": "Éditions", "ar": "الإصدارات"},
    "cities_json": {"en": "The network's cities", "fr": "Les villes du réseau", "ar": "مدن الشبكة"},
    "profile_json": {
        "en": "{city}: profile with its coverage",
        "fr": "{city} : profil et couverture",
        "ar": "{city}: الملف والتغطية",
    },
    "editions_title": {
        "en": "{city}: published editions",
        "fr": "{city} : éditions publiées",
        "ar": "{city}: الإصدارات المنشورة",
    },
    "editions_intro": {
        "en": "An edition is the city's profile frozen as published: it never changes, and it "
        "can be cited.",
        "fr": "Une édition est le profil de la ville figé tel que publié : elle ne change plus "
        "et peut être citée.",
        "ar": "الإصدار هو الملف التعريفي للمدينة مجمّداً كما نُشر: لا يتغير ويمكن الاستشهاد به.",
    },
    "no_editions": {
        "en": "No edition has been published yet.",
        "fr": "Aucune édition n'a encore été publiée.",
        "ar": "لم يُنشر أي إصدار بعد.",
    },
    "more_editions": {
        "en": "Older editions are listed in the JSON.",
        "fr": "Les éditions plus anciennes sont listées dans le JSON.",
        "ar": "الإصدارات الأقدم مدرجة في JSON.",
    },
    "edition": {"en": "Edition", "fr": "Édition", "ar": "الإصدار"},
    "published": {"en": "Published on {date}", "fr": "Publiée le {date}", "ar": "نُشر في {date}"},
    "report_html": {
        "en": "Report (web page)",
        "fr": "Rapport (page web)",
        "ar": "التقرير (صفحة ويب)",
    },
    "report_pdf": {"en": "Report (PDF)", "fr": "Rapport (PDF)", "ar": "التقرير (PDF)"},
    "edition_json": {"en": "Edition (JSON)", "fr": "Édition (JSON)", "ar": "الإصدار (JSON)"},
    "cite": {"en": "How to cite", "fr": "Comment citer", "ar": "طريقة الاستشهاد"},
    "content_hash": {"en": "SHA-256", "fr": "SHA-256", "ar": "SHA-256"},
    "withdrawn": {
        "en": "Withdrawn on {date}",
        "fr": "Retirée le {date}",
        "ar": "سُحب في {date}",
    },
    "reason": {"en": "Reason", "fr": "Motif", "ar": "السبب"},
    "replaced_by": {"en": "Replaced by", "fr": "Remplacée par", "ar": "استُبدل بـ"},
    "editions_json": {
        "en": "{city}: editions",
        "fr": "{city} : éditions",
        "ar": "{city}: الإصدارات",
    },
    "compare_title": {"en": "Compare cities", "fr": "Comparer les villes", "ar": "مقارنة المدن"},
    "compare_intro": {
        "en": "Choose a measure and the cities to compare: each city's latest figure, with the "
        "warnings that say when figures are not counted the same way.",
        "fr": "Choisissez une mesure et les villes à comparer : le dernier chiffre de chaque "
        "ville, avec les avertissements qui signalent les chiffres comptés différemment.",
        "ar": "اختر مقياساً والمدن المراد مقارنتها: آخر رقم لكل مدينة، مع التنبيهات التي تشير "
        "إلى الأرقام المحتسبة بطرق مختلفة.",
    },
    "indicator": {"en": "Measure", "fr": "Mesure", "ar": "المقياس"},
    "cities": {"en": "Cities", "fr": "Villes", "ar": "المدن"},
    "submit": {"en": "Compare", "fr": "Comparer", "ar": "قارن"},
    "choose": {
        "en": "Choose a measure and at least one city, then press Compare.",
        "fr": "Choisissez une mesure et au moins une ville, puis appuyez sur Comparer.",
        "ar": "اختر مقياساً ومدينة واحدة على الأقل، ثم اضغط على «قارن».",
    },
    "results": {"en": "Results", "fr": "Résultats", "ar": "النتائج"},
    "value": {"en": "Value", "fr": "Valeur", "ar": "القيمة"},
    "year": {"en": "Year", "fr": "Année", "ar": "السنة"},
    "source": {"en": "Source", "fr": "Source", "ar": "المصدر"},
    "unit": {"en": "Unit", "fr": "Unité", "ar": "الوحدة"},
    "estimate": {"en": "estimate", "fr": "estimation", "ar": "تقدير"},
    "no_value": {"en": "no value", "fr": "pas de valeur", "ar": "لا توجد قيمة"},
    "chart": {"en": "Chart", "fr": "Graphique", "ar": "الرسم البياني"},
    "warnings": {
        "en": "Comparability warnings",
        "fr": "Avertissements de comparabilité",
        "ar": "تنبيهات حول قابلية المقارنة",
    },
    "no_warnings": {
        "en": "None: the figures are counted the same way.",
        "fr": "Aucun : les chiffres sont comptés de la même manière.",
        "ar": "لا شيء: الأرقام محتسبة بالطريقة نفسها.",
    },
    "compare_json": {
        "en": "The comparison",
        "fr": "La comparaison",
        "ar": "المقارنة",
    },
    "compare_chart_json": {
        "en": "Its chart (Vega-Lite)",
        "fr": "Son graphique (Vega-Lite)",
        "ar": "رسمها البياني (Vega-Lite)",
    },
    "indicators_json": {
        "en": "The indicator catalogue",
        "fr": "Le catalogue des indicateurs",
        "ar": "فهرس المؤشرات",
    },
}
