"""The words of the dialogue's public pages in en, fr and ar (the layout's are in
shared.pages)."""

from __future__ import annotations

from typing import Final

from shared.pages.labels import Labels

DIALOGUE_LABELS: Final[Labels] = {
    "events_title": {
        "en": "Events of the network",
        "fr": "Événements du réseau",
        "ar": "فعاليات الشبكة",
    },
    "events_intro": {
        "en": "Missions, meetings, workshops and conferences of the network's cities: what is "
        "coming, and what was held in the last {days} days. Times are those of the place.",
        "fr": "Missions, réunions, ateliers et conférences des villes du réseau : ce qui vient, "
        "et ce qui s'est tenu ces {days} derniers jours. Les heures sont celles du lieu.",
        "ar": "البعثات والاجتماعات وورشات العمل والمؤتمرات لمدن الشبكة: ما هو قادم، وما عُقد "
        "خلال الأيام الـ{days} الأخيرة. الأوقات بتوقيت المكان.",
    },
    "upcoming": {"en": "Upcoming events", "fr": "Événements à venir", "ar": "الفعاليات القادمة"},
    "recent": {"en": "Recent events", "fr": "Événements récents", "ar": "الفعاليات الأخيرة"},
    "no_upcoming": {
        "en": "No upcoming event.",
        "fr": "Aucun événement à venir.",
        "ar": "لا توجد فعاليات قادمة.",
    },
    "no_recent": {
        "en": "No event in the last {days} days.",
        "fr": "Aucun événement ces {days} derniers jours.",
        "ar": "لا توجد فعاليات خلال الأيام الـ{days} الأخيرة.",
    },
    "more_events": {
        "en": "Later events are listed in the JSON and the iCalendar feed.",
        "fr": "Les événements suivants sont listés dans le JSON et le flux iCalendar.",
        "ar": "الفعاليات اللاحقة مدرجة في JSON وفي تقويم iCalendar.",
    },
    "when": {"en": "When", "fr": "Quand", "ar": "متى"},
    "type": {"en": "Type", "fr": "Type", "ar": "النوع"},
    "status": {"en": "Status", "fr": "Statut", "ar": "الحالة"},
    "host": {"en": "Host city", "fr": "Ville hôte", "ar": "المدينة المضيفة"},
    "participants": {
        "en": "Participating cities",
        "fr": "Villes participantes",
        "ar": "المدن المشاركة",
    },
    "venue": {"en": "Venue", "fr": "Lieu", "ar": "المكان"},
    "online": {"en": "Online", "fr": "En ligne", "ar": "عبر الإنترنت"},
    "network_wide": {"en": "The network", "fr": "Le réseau", "ar": "الشبكة"},
    "timezone": {"en": "time in", "fr": "heure de", "ar": "بتوقيت"},
    "comma": {"en": ", ", "fr": ", ", "ar": "، "},
    "event_json": {"en": "Details (JSON)", "fr": "Détails (JSON)", "ar": "التفاصيل (JSON)"},
    "event_ics": {
        "en": "Add to a calendar (iCalendar)",
        "fr": "Ajouter à un agenda (iCalendar)",
        "ar": "أضف إلى التقويم (iCalendar)",
    },
    "feed": {
        "en": "Subscribe to the events (iCalendar feed)",
        "fr": "S'abonner aux événements (flux iCalendar)",
        "ar": "اشترك في الفعاليات (تقويم iCalendar)",
    },
    "events_json": {"en": "The events", "fr": "Les événements", "ar": "الفعاليات"},
    "reconnaissance_mission": {
        "en": "Reconnaissance mission",
        "fr": "Mission de reconnaissance",
        "ar": "بعثة استطلاعية",
    },
    "expert_meeting": {"en": "Expert meeting", "fr": "Réunion d'experts", "ar": "اجتماع خبراء"},
    "technical_meeting": {
        "en": "Technical meeting",
        "fr": "Réunion technique",
        "ar": "اجتماع تقني",
    },
    "peer_to_peer": {
        "en": "Peer-to-peer meeting",
        "fr": "Rencontre entre pairs",
        "ar": "لقاء بين النظراء",
    },
    "thematic_workshop": {
        "en": "Thematic workshop",
        "fr": "Atelier thématique",
        "ar": "ورشة عمل موضوعية",
    },
    "stakeholder_workshop": {
        "en": "Stakeholder workshop",
        "fr": "Atelier des parties prenantes",
        "ar": "ورشة عمل أصحاب المصلحة",
    },
    "political_conference": {
        "en": "Political conference",
        "fr": "Conférence politique",
        "ar": "مؤتمر سياسي",
    },
    "webinar": {"en": "Webinar", "fr": "Webinaire", "ar": "ندوة عبر الإنترنت"},
    "planned": {"en": "planned", "fr": "prévu", "ar": "مخطط له"},
    "confirmed": {"en": "confirmed", "fr": "confirmé", "ar": "مؤكد"},
    "held": {"en": "held", "fr": "tenu", "ar": "عُقد"},
    "cancelled": {"en": "cancelled", "fr": "annulé", "ar": "أُلغي"},
}
