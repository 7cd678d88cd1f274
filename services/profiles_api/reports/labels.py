"""The words of a report around the city's own texts, in the languages reports are written in."""

from __future__ import annotations

from typing import Final

#: The languages a report's own words exist in; any other reader gets English words.
REPORT_LANGUAGES: Final = ("en", "fr", "ar")
#: Written right to left.
RTL_LANGUAGES: Final = frozenset({"ar"})

_LABELS: Final[dict[str, dict[str, str]]] = {
    # French sets a (narrow, unbreakable) space before a colon.
    "colon": {"en": ": ", "fr": "\u202f: ", "ar": ": "},
    "list_separator": {"en": ", ", "fr": ", ", "ar": "، "},
    "report": {
        "en": "City Migration Profile",
        "fr": "Profil migratoire de la ville",
        "ar": "الملف التعريفي للهجرة في المدينة",
    },
    "preview": {
        "en": "Preview — live data, not citable",
        "fr": "Aperçu — données en direct, non citable",
        "ar": "معاينة — بيانات حيّة، غير قابلة للاستشهاد",
    },
    "generated": {"en": "Generated on {date}", "fr": "Généré le {date}", "ar": "أُنشئ في {date}"},
    "edition": {"en": "Edition", "fr": "Édition", "ar": "الإصدار"},
    "citation": {"en": "Cite as", "fr": "Citer comme", "ar": "يُستشهد به كالتالي"},
    "content_hash": {
        "en": "Content hash (SHA-256)",
        "fr": "Empreinte du contenu (SHA-256)",
        "ar": "بصمة المحتوى (SHA-256)",
    },
    "page": {
        "en": "Page {page} of {pages}",
        "fr": "Page {page} sur {pages}",
        "ar": "الصفحة {page} من {pages}",
    },
    "network": {
        "en": "Mediterranean City-to-City Migration (MC2CM)",
        "fr": "Migration de ville à ville en Méditerranée (MC2CM)",
        "ar": "الهجرة من مدينة إلى مدينة في المتوسط (MC2CM)",
    },
    "contents": {"en": "Contents", "fr": "Sommaire", "ar": "المحتويات"},
    "key_figures": {"en": "Key figures", "fr": "Chiffres clés", "ar": "أرقام رئيسية"},
    "data": {"en": "Data", "fr": "Donnée", "ar": "البيان"},
    "year": {"en": "Year", "fr": "Année", "ar": "السنة"},
    "source": {"en": "Source", "fr": "Source", "ar": "المصدر"},
    "value": {"en": "Value", "fr": "Valeur", "ar": "القيمة"},
    "breakdown": {"en": "Breakdown", "fr": "Ventilation", "ar": "التصنيف"},
    "total": {"en": "Total", "fr": "Total", "ar": "المجموع"},
    # Breakdowns: the catalogue's dimensions, and the codes they share (SDMX's reserved ones).
    "dimension_sex": {"en": "Sex", "fr": "Sexe", "ar": "الجنس"},
    "dimension_age_group": {"en": "Age group", "fr": "Tranche d'âge", "ar": "الفئة العمرية"},
    "dimension_citizenship": {"en": "Citizenship", "fr": "Nationalité", "ar": "الجنسية"},
    "dimension_country_of_birth": {
        "en": "Country of birth",
        "fr": "Pays de naissance",
        "ar": "بلد الميلاد",
    },
    "dimension_nationality": {"en": "Nationality", "fr": "Nationalité", "ar": "الجنسية"},
    "dimension_birth_country": {
        "en": "Country of birth",
        "fr": "Pays de naissance",
        "ar": "بلد الميلاد",
    },
    "dimension_legal_status": {
        "en": "Legal status",
        "fr": "Statut juridique",
        "ar": "الوضع القانوني",
    },
    "dimension_reason": {"en": "Reason", "fr": "Motif", "ar": "السبب"},
    "dimension_school_level": {
        "en": "School level",
        "fr": "Niveau scolaire",
        "ar": "المرحلة الدراسية",
    },
    "dimension_isced_level": {
        "en": "Education level (ISCED)",
        "fr": "Niveau d'éducation (CITE)",
        "ar": "المستوى التعليمي (إسكد)",
    },
    "dimension_tenure": {"en": "Tenure", "fr": "Statut d'occupation", "ar": "نوع الحيازة"},
    "dimension_district": {"en": "District", "fr": "Quartier", "ar": "الحي"},
    "dimension_sector": {"en": "Sector", "fr": "Secteur", "ar": "القطاع"},
    "code_sex_F": {"en": "female", "fr": "femmes", "ar": "إناث"},
    "code_sex_M": {"en": "male", "fr": "hommes", "ar": "ذكور"},
    "code__T": {"en": "total", "fr": "total", "ar": "المجموع"},
    "code__O": {"en": "other", "fr": "autre", "ar": "أخرى"},
    "code__OTHER": {"en": "other", "fr": "autres", "ar": "أخرى"},
    "code__U": {"en": "unknown", "fr": "inconnu", "ar": "غير معروف"},
    "code__Z": {"en": "not applicable", "fr": "sans objet", "ar": "لا ينطبق"},
    "themes": {"en": "Themes", "fr": "Thèmes", "ar": "المحاور"},
    "no_narrative": {
        "en": "No published narrative for this theme yet.",
        "fr": "Pas encore de texte publié pour ce thème.",
        "ar": "لا يوجد نص منشور لهذا المحور بعد.",
    },
    "challenges": {
        "en": "Challenges and needs",
        "fr": "Défis et besoins",
        "ar": "التحديات والاحتياجات",
    },
    "no_challenges": {
        "en": "No challenges recorded.",
        "fr": "Aucun défi enregistré.",
        "ar": "لم تُسجَّل أي تحديات.",
    },
    "governance": {"en": "Governance", "fr": "Gouvernance", "ar": "الحوكمة"},
    "resources": {"en": "Resources", "fr": "Ressources", "ar": "الموارد"},
    "capabilities": {"en": "Capabilities", "fr": "Capacités", "ar": "القدرات"},
    "theme": {"en": "Theme", "fr": "Thème", "ar": "المحور"},
    "need": {"en": "Need", "fr": "Besoin", "ar": "الحاجة"},
    "priority": {"en": "Priority", "fr": "Priorité", "ar": "الأولوية"},
    "high": {"en": "High", "fr": "Haute", "ar": "عالية"},
    "medium": {"en": "Medium", "fr": "Moyenne", "ar": "متوسطة"},
    "low": {"en": "Low", "fr": "Basse", "ar": "منخفضة"},
    "reflections": {
        "en": "Reflections on data",
        "fr": "Réflexions sur les données",
        "ar": "ملاحظات حول البيانات",
    },
    "comparability": {"en": "Comparability", "fr": "Comparabilité", "ar": "قابلية المقارنة"},
    "estimates": {"en": "Estimates", "fr": "Estimations", "ar": "التقديرات"},
    "suppressed": {
        "en": "Suppressed cells",
        "fr": "Cellules masquées",
        "ar": "الخانات المحجوبة",
    },
    "coverage": {
        "en": "Gaps in coverage",
        "fr": "Lacunes de couverture",
        "ar": "الثغرات في التغطية",
    },
    "none": {"en": "None.", "fr": "Aucune.", "ar": "لا شيء."},
    # Comparability warnings (compare.service), said from their kind, cities and values.
    "differs": {
        "en": "The values differ in {aspect} ({parts}).",
        "fr": "Les valeurs diffèrent par {aspect} ({parts}).",
        "ar": "تختلف القيم من حيث {aspect} ({parts}).",
    },
    "aspect_population_concept": {
        "en": "population concept",
        "fr": "le concept de population",
        "ar": "مفهوم السكان",
    },
    "aspect_unit": {"en": "unit", "fr": "l'unité", "ar": "الوحدة"},
    "aspect_scope": {
        "en": "geographic scope",
        "fr": "le périmètre géographique",
        "ar": "النطاق الجغرافي",
    },
    "aspect_period": {"en": "period", "fr": "la période", "ar": "الفترة"},
    "unspecified": {"en": "unspecified", "fr": "non précisé", "ar": "غير محدد"},
    "scope_municipality": {"en": "municipality", "fr": "municipalité", "ar": "البلدية"},
    "scope_metro": {
        "en": "metropolitan area",
        "fr": "aire métropolitaine",
        "ar": "المنطقة الحضرية",
    },
    "scope_governorate": {"en": "governorate", "fr": "gouvernorat", "ar": "المحافظة"},
    "scope_region": {"en": "region", "fr": "région", "ar": "الإقليم"},
    "scope_country": {"en": "country", "fr": "pays", "ar": "البلد"},
    "estimates_warning": {
        "en": "Estimates, not counts: {cities}.",
        "fr": "Estimations, non des comptages : {cities}.",
        "ar": "تقديرات وليست أعداداً: {cities}.",
    },
    "missing_warning": {
        "en": "No value for {cities}.",
        "fr": "Pas de valeur pour {cities}.",
        "ar": "لا توجد قيمة لـ {cities}.",
    },
    "group_separator": {"en": "; ", "fr": " ; ", "ar": "؛ "},
    "scope_warning": {
        "en": "{indicator} ({period}): the figure covers {scope}, not the municipality.",
        "fr": "{indicator} ({period}) : le chiffre couvre {scope}, pas la municipalité.",
        "ar": "{indicator} ({period}): يغطي الرقم {scope} وليس البلدية.",
    },
    "status_warning": {
        "en": "{indicator} ({period}): {status}.",
        "fr": "{indicator} ({period}) : {status}.",
        "ar": "{indicator} ({period}): {status}.",
    },
    "concept_warning": {
        "en": "{indicator}: migrants are counted by {concept}; other cities may count otherwise.",
        "fr": "{indicator} : les personnes migrantes sont comptées selon le critère "
        "« {concept} » ; d'autres villes comptent autrement.",
        "ar": "{indicator}: يُحتسب المهاجرون حسب معيار «{concept}»؛ وقد تحتسبهم مدن أخرى بطريقة "
        "مختلفة.",
    },
    "estimate_line": {
        "en": "{indicator} ({period}): {status}{range}.",
        "fr": "{indicator} ({period}) : {status}{range}.",
        "ar": "{indicator} ({period}): {status}{range}.",
    },
    "range": {
        "en": ", between {low} and {high}",
        "fr": ", entre {low} et {high}",
        "ar": "، بين {low} و{high}",
    },
    "suppressed_line": {
        "en": "{indicator}: {count} breakdown values are not shown (small numbers that could "
        "identify people).",
        "fr": "{indicator} : {count} valeurs ventilées ne sont pas affichées (petits effectifs "
        "qui pourraient identifier des personnes).",
        "ar": "{indicator}: لا تُعرض {count} من القيم المصنّفة (أعداد صغيرة قد تكشف هوية أشخاص).",
    },
    "coverage_line": {
        "en": "{theme}: {with_data} of {indicators} indicators have data, {recent} from the "
        "last 5 years.",
        "fr": "{theme} : {with_data} indicateurs sur {indicators} ont des données, dont {recent} "
        "des 5 dernières années.",
        "ar": "{theme}: تتوفر بيانات لـ{with_data} من أصل {indicators} مؤشرات، منها {recent} من "
        "السنوات الخمس الأخيرة.",
    },
    "sources": {"en": "Sources", "fr": "Sources", "ar": "المصادر"},
    "accessed": {"en": "accessed {date}", "fr": "consulté le {date}", "ar": "تاريخ الاطلاع {date}"},
    "fallback": {
        "en": "Not available in English; shown in {shown}.",
        "fr": "Non disponible en français ; affiché en {shown}.",
        "ar": "غير متوفر بالعربية؛ معروض باللغة {shown}.",
    },
    "chart_alt": {
        "en": "{indicator}, {city}: {count} values from {first} to {last}; latest ({period}): "
        "{value}.",
        "fr": "{indicator}, {city} : {count} valeurs de {first} à {last} ; la dernière ({period}) "
        ": {value}.",
        "ar": "{indicator}، {city}: {count} قيم من {first} إلى {last}؛ آخر قيمة ({period}): "
        "{value}.",
    },
    "chart_empty": {
        "en": "{indicator}, {city}: no value to show.",
        "fr": "{indicator}, {city} : aucune valeur à afficher.",
        "ar": "{indicator}، {city}: لا توجد قيمة لعرضها.",
    },
    "chart_suppressed": {
        "en": " {count} values are not shown (small numbers).",
        "fr": " {count} valeurs ne sont pas affichées (petits effectifs).",
        "ar": " لا تُعرض {count} من القيم (أعداد صغيرة).",
    },
    "unit": {"en": "Unit", "fr": "Unité", "ar": "الوحدة"},
    "city": {"en": "City", "fr": "Ville", "ar": "المدينة"},
    "compare_title": {
        "en": "{indicator}: cities compared",
        "fr": "{indicator} : villes comparées",
        "ar": "{indicator}: مقارنة بين المدن",
    },
    "compare_alt": {
        "en": "{indicator} in {count} cities: {values}.",
        "fr": "{indicator} dans {count} villes : {values}.",
        "ar": "{indicator} في {count} مدن: {values}.",
    },
    "no_value": {"en": "no value", "fr": "pas de valeur", "ar": "لا توجد قيمة"},
    "warnings": {"en": "Warnings", "fr": "Avertissements", "ar": "تنبيهات"},
    "persons": {"en": "persons", "fr": "personnes", "ar": "أشخاص"},
    "percent": {"en": "percent (%)", "fr": "pourcentage (%)", "ar": "نسبة مئوية (%)"},
    "per_mille": {"en": "per mille (‰)", "fr": "pour mille (‰)", "ar": "في الألف (‰)"},
    "count": {"en": "count", "fr": "nombre", "ar": "عدد"},
    "currency": {"en": "currency", "fr": "monnaie", "ar": "عملة"},
    "index": {"en": "index", "fr": "indice", "ar": "مؤشر"},
    "score": {"en": "score", "fr": "score", "ar": "درجة"},
    # Governance assessments (a framework's scores of the city's policies, 0 to 100).
    "assessments": {
        "en": "Governance assessments",
        "fr": "Évaluations de la gouvernance",
        "ar": "تقييمات الحوكمة",
    },
    "version": {"en": "version", "fr": "version", "ar": "الإصدار"},
    "as_of": {"en": "as of {date}", "fr": "au {date}", "ar": "بتاريخ {date}"},
    "area": {"en": "Area", "fr": "Domaine", "ar": "المجال"},
    "score_column": {"en": "Score (of 100)", "fr": "Score (sur 100)", "ar": "الدرجة (من 100)"},
    "completeness": {"en": "Completeness", "fr": "Complétude", "ar": "الاكتمال"},
    "completeness_value": {
        "en": "{answered} of {total} questions answered",
        "fr": "{answered} questions renseignées sur {total}",
        "ar": "أُجيب عن {answered} من أصل {total} أسئلة",
    },
    "unscored": {
        "en": "Areas without a score (not in the chart)",
        "fr": "Domaines sans score (absents du graphique)",
        "ar": "مجالات بلا درجة (غير واردة في الرسم البياني)",
    },
    "no_score": {"en": "no score", "fr": "pas de score", "ar": "لا درجة"},
    "reason_insufficient_data": {
        "en": "too few questions answered",
        "fr": "trop peu de questions renseignées",
        "ar": "عدد الأسئلة المُجاب عنها غير كافٍ",
    },
    "reason_not_applicable": {
        "en": "not applicable to the city",
        "fr": "sans objet pour la ville",
        "ar": "لا ينطبق على المدينة",
    },
    "not_rankable": {
        "en": "These results are a profile, not a ranking: the framework is not meant to rank "
        "cities or to compare their scores.",
        "fr": "Ces résultats forment un profil, non un classement : le cadre n'est pas conçu "
        "pour classer les villes ni pour comparer leurs scores.",
        "ar": "هذه النتائج ملف تعريفي وليست ترتيباً: لم يُصمَّم الإطار لترتيب المدن أو للمقارنة بين "
        "درجاتها.",
    },
    "framework_model": {
        "en": "About the framework",
        "fr": "À propos du cadre",
        "ar": "عن الإطار",
    },
    "assessment_chart_alt": {
        "en": "{framework}, {city}, {as_of}: scores of {count} areas out of 100: {values}.",
        "fr": "{framework}, {city}, {as_of} : scores de {count} domaines sur 100 : {values}.",
        "ar": "{framework}، {city}، {as_of}: درجات {count} مجالات من 100: {values}.",
    },
    "assessment_chart_unscored": {
        "en": "Not shown, without a score: {areas}.",
        "fr": "Non représentés, sans score : {areas}.",
        "ar": "غير معروضة لعدم وجود درجة: {areas}.",
    },
    "status_B": {"en": "break in series", "fr": "rupture de série", "ar": "انقطاع في السلسلة"},
    "status_D": {
        "en": "definition differs",
        "fr": "définition différente",
        "ar": "تعريف مختلف",
    },
    "status_E": {"en": "estimated value", "fr": "valeur estimée", "ar": "قيمة تقديرية"},
    "status_F": {"en": "forecast", "fr": "prévision", "ar": "توقع"},
    "status_I": {"en": "imputed value", "fr": "valeur imputée", "ar": "قيمة مُقدَّرة بالإسناد"},
    "status_P": {"en": "provisional value", "fr": "valeur provisoire", "ar": "قيمة مؤقتة"},
    "status_U": {"en": "low reliability", "fr": "fiabilité faible", "ar": "موثوقية منخفضة"},
}


def report_language(languages: tuple[str, ...]) -> str:
    """The first of the reader's languages a report's words exist in; English otherwise."""
    return next((tag for tag in languages if tag in REPORT_LANGUAGES), "en")


def label(key: str, language: str, **values: object) -> str:
    """The report's word ``key`` in ``language`` (English if it has none), filled in."""
    texts = _LABELS[key]
    text = texts.get(language) or texts["en"]
    return text.format(**values) if values else text


def has_label(key: str) -> bool:
    return key in _LABELS
