"""The worker: one arq process serving both services.

It relays both outboxes to jobs (``relay.py``), runs each event's handlers (``events.py``):
the dialogue's read model of the cities (``cities.py``), aggregation of the profiles' figures
(``aggregation/``) and notifications by e-mail and webhook (``notifications/``), and its cron
jobs. It has no HTTP API; it imports the services' domain code.
"""
