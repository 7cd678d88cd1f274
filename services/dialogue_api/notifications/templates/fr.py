"""E-mails in French."""

from __future__ import annotations

SIGNATURE = (
    "-- \nMC2CM, le réseau méditerranéen de migration de ville à ville.\n"
    "Vous recevez ce message du fait de votre participation au dialogue du réseau."
)

WORDS = {
    "planned": "prévu",
    "confirmed": "confirmé",
    "held": "tenu",
    "cancelled": "annulé",
    "proposed": "proposée",
    "adopted": "adoptée",
    "in_progress": "en cours",
    "implemented": "mise en œuvre",
    "dropped": "abandonnée",
    "done": "réalisée",
    "local": "local",
    "national": "national",
    "international": "international",
    "offer": "offre",
    "request": "demande",
    "nowhere": "à préciser",
    "online": "en ligne",
    "none": "aucun",
    "nobody": "aucun contact désigné pour l'instant",
}

_EVENT = "Quand : {when}\nOù : {where}"

TEMPLATES = {
    "invitation": (
        "Invitation : {event}",
        "Bonjour {name},\n\nVous êtes invité(e) à : {event}.\n\n" + _EVENT + "\n\n"
        "L'entrée d'agenda jointe l'ajoute à votre calendrier. Le point focal de votre ville "
        "ou les organisateurs vous inscriront dès que vous acceptez.",
    ),
    "registered": (
        "Inscription confirmée : {event}",
        "Bonjour {name},\n\nVotre place à « {event} » est confirmée.\n\n" + _EVENT + "\n\n"
        "L'entrée d'agenda jointe l'ajoute à votre calendrier.",
    ),
    "waitlisted": (
        "Liste d'attente : {event}",
        "Bonjour {name},\n\n« {event} » est complet : vous êtes sur la liste d'attente. Vous "
        "recevrez un courriel dès qu'une place vous revient.\n\n" + _EVENT,
    ),
    "promoted": (
        "Une place vous revient : {event}",
        "Bonjour {name},\n\nUne place s'est libérée à « {event} » et elle est à vous : vous "
        "passez de la liste d'attente aux participants.\n\n" + _EVENT + "\n\n"
        "L'entrée d'agenda jointe l'ajoute à votre calendrier.",
    ),
    "declined": (
        "Invitation déclinée : {event}",
        "Bonjour {name},\n\nNous avons noté que vous ne participerez pas à « {event} ».\n\n"
        "Si votre calendrier le contenait, l'entrée jointe l'en retire.",
    ),
    "cancelled": (
        "Inscription annulée : {event}",
        "Bonjour {name},\n\nVotre inscription à « {event} » est annulée.\n\n"
        "Si votre calendrier le contenait, l'entrée jointe l'en retire.",
    ),
    "event_changed": (
        "Modification : {event}",
        "Bonjour {name},\n\nLes informations de « {event} » ont changé. Statut : {status}.\n\n"
        + _EVENT
        + "\n\nL'entrée d'agenda jointe met votre calendrier à jour.",
    ),
    "event_cancelled": (
        "Annulation : {event}",
        "Bonjour {name},\n\n« {event} » ({when}) est annulé.\n\n"
        "L'entrée d'agenda jointe le retire de votre calendrier.",
    ),
    "event_in_7_days": (
        "Dans une semaine : {event}",
        "Bonjour {name},\n\nPour rappel, « {event} » a lieu dans une semaine.\n\n" + _EVENT,
    ),
    "event_tomorrow": (
        "Demain : {event}",
        "Bonjour {name},\n\nPour rappel, « {event} » commence demain.\n\n" + _EVENT,
    ),
    "recommendation_new": (
        "Recommandation à {cities} : {theme}",
        "Bonjour {name},\n\n« {event} » recommande à {cities} ({theme}, niveau {level}) :\n\n"
        "{text}\n\nStatut : {status}.",
    ),
    "recommendation_status": (
        "Recommandation {status} : {theme}",
        "Bonjour {name},\n\nLa recommandation de « {event} » à {cities} ({theme}) est "
        "désormais {status} (elle était {previous}).\n\n{text}",
    ),
    "action_changed": (
        "Action de {city} : {action}",
        "Bonjour {name},\n\nUne action dont vous êtes responsable :\n\n{action}\n\n"
        "Ville : {city}\nStatut : {status}\nÉchéance : {due_on}",
    ),
    "action_due_in_7_days": (
        "Échéance dans une semaine : {action}",
        "Bonjour {name},\n\nPour rappel, cette action de {city} dont vous êtes responsable "
        "arrive à échéance le {due_on}, dans une semaine.\n\n{action}\n\nStatut : {status}",
    ),
    "action_due_today": (
        "Échéance aujourd'hui : {action}",
        "Bonjour {name},\n\nPour rappel, cette action de {city} dont vous êtes responsable "
        "arrive à échéance aujourd'hui, le {due_on}.\n\n{action}\n\nStatut : {status}",
    ),
    "exchange_matched": (
        "Échange apparié : {theme}",
        "Bonjour {name},\n\nL'{kind} de {city} sur le thème {theme}, dont vous êtes le "
        "contact, a été appariée avec la {other_kind} de {other_city}.\n\n"
        "La vôtre : {title}\nLa leur : {other_title}\nLeur contact : {other_contact}",
    ),
    "edition_published": (
        "Profil migratoire de {city} publié : édition {edition}",
        "Bonjour {name},\n\nLe profil migratoire de la ville de {city} a été publié le "
        "{published_on} dans l'édition {edition}. L'édition reste telle que publiée et peut "
        "être citée par son identifiant.\n\nÉdition : {edition}\n"
        "Empreinte du contenu (SHA-256) : {content_hash}\nDans l'API des profils : {path}",
    ),
    "assessment_submitted": (
        "Évaluation de {city} soumise : {framework}",
        "Bonjour {name},\n\nL'évaluation de {city} selon le cadre {framework} (version "
        "{version}), qui décrit ses politiques au {reference_date}, a été soumise pour revue. "
        "Une autre personne que celle qui l'a soumise la valide avant sa publication.",
    ),
    "assessment_validated": (
        "Évaluation de {city} validée : {framework}",
        "Bonjour {name},\n\nL'évaluation de {city} selon le cadre {framework} (version "
        "{version}), qui décrit ses politiques au {reference_date}, a été validée. Elle peut "
        "maintenant être publiée.",
    ),
    "assessment_published": (
        "Évaluation de {city} publiée : {framework}",
        "Bonjour {name},\n\nL'évaluation de {city} selon le cadre {framework} (version "
        "{version}), qui décrit ses politiques au {reference_date}, a été publiée.\n\n"
        "Score global : {overall}\nIndicateurs sous {threshold} : {gaps}\n"
        "Ses lacunes et les recommandations qui y répondent : {path}",
    ),
}
