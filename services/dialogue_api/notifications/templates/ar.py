"""E-mails in Arabic."""

# Arabic letters beside the format fields are not Latin look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

SIGNATURE = (
    "-- \nشبكة MC2CM للهجرة بين المدن المتوسطية.\nتصلك هذه الرسالة بسبب مشاركتك في حوار الشبكة."
)

WORDS = {
    "planned": "مخطط له",
    "confirmed": "مؤكد",
    "held": "انعقد",
    "cancelled": "ملغى",
    "proposed": "مقترحة",
    "adopted": "معتمدة",
    "in_progress": "قيد التنفيذ",
    "implemented": "منفذة",
    "dropped": "متروكة",
    "done": "منجزة",
    "local": "المحلي",
    "national": "الوطني",
    "international": "الدولي",
    "offer": "عرض",
    "request": "طلب",
    "nowhere": "سيعلن لاحقا",
    "online": "عبر الإنترنت",
    "none": "لا يوجد",
    "nobody": "لم يحدد جهة اتصال بعد",
}

_EVENT = "الموعد: {when}\nالمكان: {where}"

TEMPLATES = {
    "invitation": (
        "دعوة: {event}",
        "السيد/السيدة {name}،\n\nيسرنا دعوتك إلى: {event}.\n\n" + _EVENT + "\n\n"
        "يضيف الملف المرفق هذا الموعد إلى تقويمك. سيسجلك منسق مدينتك أو المنظمون عند قبولك.",
    ),
    "registered": (
        "تأكيد التسجيل: {event}",
        "السيد/السيدة {name}،\n\nتم تأكيد مكانك في: {event}.\n\n" + _EVENT + "\n\n"
        "يضيف الملف المرفق هذا الموعد إلى تقويمك.",
    ),
    "waitlisted": (
        "قائمة الانتظار: {event}",
        "السيد/السيدة {name}،\n\nاكتمل العدد في: {event}، وأنت الآن على قائمة الانتظار. "
        "ستصلك رسالة حالما يتوفر لك مكان.\n\n" + _EVENT,
    ),
    "promoted": (
        "أصبح لك مكان: {event}",
        "السيد/السيدة {name}،\n\nتوفر مكان في: {event} وأصبح لك، فقد انتقلت من قائمة "
        "الانتظار إلى المشاركين.\n\n" + _EVENT + "\n\n"
        "يضيف الملف المرفق هذا الموعد إلى تقويمك.",
    ),
    "declined": (
        "اعتذار عن المشاركة: {event}",
        "السيد/السيدة {name}،\n\nسجلنا أنك لن تشارك في: {event}.\n\n"
        "إن كان الموعد في تقويمك فإن الملف المرفق يزيله.",
    ),
    "cancelled": (
        "إلغاء التسجيل: {event}",
        "السيد/السيدة {name}،\n\nتم إلغاء تسجيلك في: {event}.\n\n"
        "إن كان الموعد في تقويمك فإن الملف المرفق يزيله.",
    ),
    "event_changed": (
        "تعديل: {event}",
        "السيد/السيدة {name}،\n\nتغيرت تفاصيل: {event}. الحالة: {status}.\n\n" + _EVENT + "\n\n"
        "يحدّث الملف المرفق تقويمك.",
    ),
    "event_cancelled": (
        "إلغاء: {event}",
        "السيد/السيدة {name}،\n\nتم إلغاء: {event} ({when}).\n\n"
        "يزيل الملف المرفق هذا الموعد من تقويمك.",
    ),
    "event_in_7_days": (
        "بعد أسبوع: {event}",
        "السيد/السيدة {name}،\n\nللتذكير: يبدأ {event} بعد أسبوع.\n\n" + _EVENT,
    ),
    "event_tomorrow": (
        "غدا: {event}",
        "السيد/السيدة {name}،\n\nللتذكير: يبدأ {event} غدا.\n\n" + _EVENT,
    ),
    "recommendation_new": (
        "توصية إلى {cities}: {theme}",
        "السيد/السيدة {name}،\n\nيوصي {event} {cities} ({theme}، المستوى: {level}) بما يلي:\n\n"
        "{text}\n\nالحالة: {status}.",
    ),
    "recommendation_status": (
        "توصية {status}: {theme}",
        "السيد/السيدة {name}،\n\nأصبحت توصية {event} إلى {cities} ({theme}) {status} "
        "(كانت {previous}).\n\n{text}",
    ),
    "action_changed": (
        "إجراء {city}: {action}",
        "السيد/السيدة {name}،\n\nإجراء أنت مسؤول عنه:\n\n{action}\n\n"
        "المدينة: {city}\nالحالة: {status}\nتاريخ الاستحقاق: {due_on}",
    ),
    "action_due_in_7_days": (
        "يستحق بعد أسبوع: {action}",
        "السيد/السيدة {name}،\n\nللتذكير: يستحق هذا الإجراء لمدينة {city}، وأنت مسؤول عنه، "
        "في {due_on}، أي بعد أسبوع.\n\n{action}\n\nالحالة: {status}",
    ),
    "action_due_today": (
        "يستحق اليوم: {action}",
        "السيد/السيدة {name}،\n\nللتذكير: يستحق هذا الإجراء لمدينة {city}، وأنت مسؤول عنه، "
        "اليوم {due_on}.\n\n{action}\n\nالحالة: {status}",
    ),
    "exchange_matched": (
        "تمت مطابقة تبادل: {theme}",
        "السيد/السيدة {name}،\n\nتمت مطابقة {kind} مدينة {city} في موضوع {theme}، وأنت جهة "
        "الاتصال الخاصة به، مع {other_kind} مدينة {other_city}.\n\n"
        "ما يخصكم: {title}\nما يخصهم: {other_title}\nجهة اتصالهم: {other_contact}",
    ),
    "edition_published": (
        "نُشر ملف الهجرة لمدينة {city}: الإصدار {edition}",
        "السيد/السيدة {name}،\n\nنُشر ملف الهجرة لمدينة {city} في {published_on} في الإصدار "
        "{edition}. يبقى الإصدار كما نُشر ويمكن الاستشهاد به بمعرّفه.\n\n"
        "الإصدار: {edition}\nبصمة المحتوى (SHA-256): {content_hash}\n"
        "في واجهة برمجة الملفات: {path}",
    ),
    "assessment_submitted": (
        "قُدّم تقييم مدينة {city}: {framework}",
        "السيد/السيدة {name}،\n\nقُدّم للمراجعة تقييم مدينة {city} وفق إطار {framework} "
        "(الإصدار {version})، الذي يصف سياساتها في {reference_date}. يصادق عليه شخص غير الذي "
        "قدّمه قبل نشره.",
    ),
    "assessment_validated": (
        "صودق على تقييم مدينة {city}: {framework}",
        "السيد/السيدة {name}،\n\nصودق على تقييم مدينة {city} وفق إطار {framework} "
        "(الإصدار {version})، الذي يصف سياساتها في {reference_date}. يمكن نشره الآن.",
    ),
    "assessment_published": (
        "نُشر تقييم مدينة {city}: {framework}",
        "السيد/السيدة {name}،\n\nنُشر تقييم مدينة {city} وفق إطار {framework} "
        "(الإصدار {version})، الذي يصف سياساتها في {reference_date}.\n\n"
        "النتيجة الإجمالية: {overall}\nالمؤشرات دون {threshold}: {gaps}\n"
        "الثغرات والتوصيات التي تعالجها: {path}",
    ),
}
