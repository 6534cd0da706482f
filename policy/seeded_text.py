"""The English wording other apps seed into records shown on the policy page.

Their models store one language, so the page translates a stored text when the catalogue
knows it (content._text). Listing the strings here keeps them in policy's catalogue, with their
Korean in locale/ko; a text staff later type in is shown as typed. Better still would be Korean
fields on those models (asked of their owners).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

SEEDED_TEXT = [
    # thirdparty: processors of policy 3.1
    _("User data analysis"),
    _("Targeted advertising services"),
    _("Email sending"),
    _("Until end of service agreement"),
    _("USA"),
    _("Korea"),
    _(
        "Google LLC (USA): cookie identifiers, device and usage data, sent over the network as the website is used; "
        "kept until the end of the service agreement."
    ),
    _(
        "Meta Platforms, Inc. (USA): hashed email and phone for custom audiences, pixel events, sent over the "
        "network when an audience is synced; kept until the end of the service agreement."
    ),
    # retention: rules of policy 4
    _("Service visit logs"),
    _("Consumer complaint and dispute records"),
    _("Customer-service inquiries (questions)"),
    _("Offline event and seminar attendance"),
    _("Linked SNS accounts"),
    _("Post and ad performance and ad execution data"),
    _("Data subject profiles (name and contact details)"),
    _("The visit"),
    _("The closing of the complaint or dispute; an open one is never due"),
    _("The closing of the inquiry; an open inquiry is never due"),
    _("The event date"),
    _("The unlinking of the account; a linked account is never due"),
    _("The recording of the figures"),
    _("The last change of the profile, and only once no record of the person is left"),
    _("Protection of Communications Secrets Act art. 15-2(2); Enforcement Decree art. 41(2)2"),
    _("Act on Consumer Protection in Electronic Commerce art. 6(3); Enforcement Decree art. 6(1)4"),
    _("PIPA art. 21(1) (destroy once the purpose is achieved)"),
    _("PIPA art. 22 (proof of consent); Civil Act art. 766(1)"),
    _("PIPA art. 35-38, 45; Civil Act art. 766(1)"),
    _("PIPA art. 30(2) (disclosure of changes); PIPA art. 21(1)"),
    _("PIPA art. 26 (entrustment); PIPA art. 21(1)"),
    _("YouTube API Services Developer Policies; PIPA art. 21(1)"),
    _("YouTube API Services Developer Policies III.E.4"),
    _("PIPA art. 18(4); Enforcement Decree art. 15"),
    _("PIPA art. 34; Enforcement Decree art. 39-40; GDPR art. 33(5)"),
    _("Network Act art. 50(2), (4); PIPA art. 21(1), 37(1)"),
]
