# What the statistics tests share: driving the real program through
# --now in $WORK with r.conf and renraku.db (sourced after lib.sh).
R() { "$RENRAKU" --config r.conf "$@"; }
q() { sqlite3 renraku.db "$1"; }
tid() { ticket_of renraku.db "$1" | head -1; }
first_mid() { q "SELECT message_id FROM messages WHERE ticket_id = '$1' AND direction = 'out' ORDER BY id LIMIT 1"; }
last_mid() { q "SELECT message_id FROM messages WHERE ticket_id = '$1' AND direction = 'out' ORDER BY id DESC LIMIT 1"; }
ev() { # ev IP TYPE ASN [TLP [CC]]
	printf '{"time.source":"%s","source.ip":"%s","source.asn":%s,"classification.type":"%s","tlp":"%s"%s}\n' \
		"$NOW" "$1" "$3" "$2" "${4:-GREEN}" "${5:+,\"source.geolocation.cc\":\"$5\"}"
}
ingest() { # ingest NOW REPORTER: the events on stdin as one report
	cat >"in.jsonl"
	check "ingest at $1" R -q --now "$1" ingest --reporter "$2" in.jsonl
}
run_at() { check "run at $1" R -q run --once --now "$1"; }
reply() { # reply TICKET MID FROM NOW: a person answers
	cat >reply.eml <<MAIL
From: $3
To: csirt@test.example
Subject: Re: [TEST #$1] notice
Message-ID: <reply-$1-$RANDOM@example.net>
In-Reply-To: $2
Content-Type: text/plain; charset=utf-8

Thanks, we are on it.
MAIL
	check "reply to $1 at $4" R -q --now "$4" inbound reply.eml
}

