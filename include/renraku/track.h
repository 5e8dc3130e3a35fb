/*
 * Track: follow a ticket after its first notice is sent.
 *
 * Owns (to come): inbound messages, their classification and matching
 * (In-Reply-To / References, the [PREFIX #id] subject tag), the
 * acknowledgement records, reminders and escalation along the contact
 * chain.  May call: store, tickets (every state change goes through
 * tickets_transition()), mail (parsing with GMime), notify (building a
 * reminder).  Called by the pipeline driver and the command line.
 *
 * Nothing is declared yet: the tracking issue adds inbound, fetch-mail,
 * ack, reminders and escalation here.
 */
#ifndef RENRAKU_TRACK_H
#define RENRAKU_TRACK_H

#include "renraku/store.h"
#include "renraku/tickets.h"

#endif /* RENRAKU_TRACK_H */
