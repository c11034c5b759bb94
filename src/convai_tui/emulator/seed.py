"""Seeded, deterministic demo data: agents, branches, tests and conversation summaries."""

from __future__ import annotations

from typing import Any

# A fixed clock for seeded data so screenshots and tests are stable: 2026-11-20 18:00 UTC.
SEED_NOW = 1795197600
DEMO_KEY = "convai-demo-key"
CREATOR = {"is_creator": True, "creator_name": "Demo User", "creator_email": "demo@example.com", "role": "admin"}
DAY = 86400
# What each demo tool answers in the seeded history and in simulations (unless a tool mock says otherwise).
# Kept apart from the tool configs: the API's tool schema has no place for it.
TOOL_RESULTS: dict[str, str] = {}


def _tool(name: str, description: str, result: str, params: dict[str, str]) -> dict[str, Any]:
    TOOL_RESULTS[name] = result
    return {
        "type": "webhook",
        "name": name,
        "description": description,
        "api_schema": {"url": f"https://example.com/{name}", "method": "POST",
                       "request_body_schema": {"type": "object", "properties": {
                           k: {"type": "string", "description": v} for k, v in params.items()}}},
    }


AGENTS: list[dict[str, Any]] = [
    {
        "agent_id": "agent_dental_bella",
        "name": "Bella Dental Reception",
        "tags": ["dental", "booking", "en"],
        "created_at_unix_secs": SEED_NOW - 200 * 86400,
        "weight": 0.45,
        "conversation_config": {
            "agent": {
                "first_message": "Hi, you've reached Bella Dental. How can I help you today?",
                "language": "en",
                "prompt": {
                    "prompt": (
                        "You are the friendly receptionist of Bella Dental, a small dental clinic.\n"
                        "Help callers book, move or cancel appointments.\n"
                        "Ask for the caller's name before booking.\n"
                        "Check availability with the check_availability tool, then book with book_appointment.\n"
                        "Answer questions about opening hours and services from the knowledge base.\n"
                        "Keep answers short; this is a phone call."
                    ),
                    "llm": "gemini-2.5-flash",
                    "temperature": 0.4,
                    "max_tokens": -1,
                    "tools": [
                        _tool("check_availability", "Check free slots", '{"available": true}', {"slot": "Requested slot"}),
                        _tool("book_appointment", "Book a slot", '{"status": "booked", "confirmation": "BD-4821"}',
                              {"time": "Slot to book", "name": "Caller name"}),
                        _tool("cancel_appointment", "Cancel a booking", '{"status": "cancelled"}', {"time": "Slot"}),
                    ],
                    "knowledge_base": [{"type": "text", "name": "Clinic hours and prices", "id": "kb_bella_hours"}],
                },
            },
        },
        "platform_settings": {
            "evaluation": {"criteria": [
                {"id": "confirms_booking", "name": "Confirms booking",
                 "conversation_goal_prompt": "The agent confirms the booking time back to the caller.",
                 "type": "prompt"},
                {"id": "polite", "name": "Polite", "conversation_goal_prompt": "The agent is polite.",
                 "type": "prompt"},
            ]},
            "data_collection": {
                "caller_name": {"type": "string", "description": "The caller's name"},
                "appointment_time": {"type": "string", "description": "The requested appointment time"},
            },
        },
    },
    {
        "agent_id": "agent_sanitas_ro",
        "name": "Asistent Programări Sanitas",
        "tags": ["ro", "booking"],
        "created_at_unix_secs": SEED_NOW - 150 * 86400,
        "weight": 0.30,
        "conversation_config": {
            "agent": {
                "first_message": "Alo, da?",
                "language": "ro",
                "prompt": {
                    "prompt": (
                        "Ești asistentul telefonic al clinicii Sanitas din Cluj.\n"
                        "Vorbește doar în română, politicos și pe scurt.\n"
                        "Fă programări cu unealta programare_consultatie și confirmă întotdeauna ora programării.\n"
                        "Nu discuta prețuri: trimite pacientul la recepție."
                    ),
                    "llm": "gpt-4o-mini",
                    "temperature": 0.3,
                    "tools": [
                        _tool("programare_consultatie", "Face o programare", '{"status": "programat"}',
                              {"time": "Ora", "name": "Nume"}),
                    ],
                },
            },
        },
        "platform_settings": {
            "evaluation": {"criteria": [
                {"id": "limba_romana", "name": "Vorbește română",
                 "conversation_goal_prompt": "The agent speaks Romanian throughout.", "type": "prompt"},
            ]},
            "data_collection": {"ora_programarii": {"type": "string", "description": "appointment time"}},
        },
    },
    {
        "agent_id": "agent_acme_support",
        "name": "Acme Store Support",
        "tags": ["support", "refunds"],
        "created_at_unix_secs": SEED_NOW - 125 * 86400,
        "weight": 0.25,
        "conversation_config": {
            "agent": {
                "first_message": "Thanks for calling Acme support. What can I do for you?",
                "language": "en",
                "prompt": {
                    "prompt": (
                        "You are Acme's customer support agent.\n"
                        "Look up orders with lookup_order and explain the refund policy.\n"
                        "Be concise."
                    ),
                    "llm": "gpt-4.1-mini",
                    "temperature": 0.8,
                    "tools": [
                        _tool("lookup_order", "Find an order", '{"order": "shipped", "eta": "2 days"}',
                              {"order_id": "Order id"}),
                        _tool("issue_refund", "Refund an order", '{"refund": "queued"}', {"order_id": "Order id"}),
                    ],
                    "knowledge_base": [{"type": "file", "name": "Refund policy", "id": "kb_acme_refunds"}],
                },
            },
        },
        "platform_settings": {
            "evaluation": {"criteria": [
                {"id": "offers_refund", "name": "Offers refund",
                 "conversation_goal_prompt": "The agent offers a refund when the order is broken.", "type": "prompt"},
            ]},
            "data_collection": {"intent": {"type": "string", "description": "the reason for the call"}},
        },
    },
]

# Personas used for the seeded conversation history (per language).
PERSONAS_EN = [
    "You want to book a cleaning on Tuesday at 3 PM. My name is Maria.",
    "You want to book an appointment on Friday at 9 AM. You are impatient and difficult.",
    "You need to cancel your appointment on Monday at 10 AM.",
    "You ask how much a consultation costs.",
    "You ask about the opening hours on Saturday.",
    "Your order arrived broken and you want a refund. You are angry.",
    "You were charged twice and want a refund.",
    "You have a general question about the services.",
    "You want to book an appointment on Thursday at 4:30 PM. My name is Tom.",
    "You keep asking questions and never hang up.",
    "You want to know where your order A-10233 is.",
]
# Which English personas each English agent's callers use (index into PERSONAS_EN).
AGENT_PERSONAS = {
    "agent_dental_bella": [0, 1, 2, 3, 4, 7, 8, 9],
    "agent_acme_support": [5, 6, 7, 3, 9, 10],
}
PERSONAS_RO = [
    "Vrei o programare marți la ora 15:00. Numele meu este Ioana.",
    "Vrei să anulezi programarea de vineri.",
    "Întrebi cât costă o consultație.",
    "Ești nemulțumit și vrei să faci o reclamație. Ești nervos.",
    "Întrebi care este programul de lucru.",
    "Vrei o programare joi la ora 16:30. Mă numesc Mihai.",
]

TESTS: list[dict[str, Any]] = [
    # --- Bella Dental
    {"id": "test_bella_confirms", "agent": "agent_dental_bella", "type": "llm", "name": "Confirms the booking",
     "chat_history": [
         {"role": "agent", "message": "Hi, you've reached Bella Dental. How can I help you today?", "time_in_call_secs": 0},
         {"role": "user", "message": "Hi, my name is Maria. I'd like to book a cleaning on Tuesday at 3 PM.",
          "time_in_call_secs": 4}],
     "success_condition": "The agent confirms the booking time back to the caller.",
     "success_examples": [{"response": "Done! To confirm, your cleaning is on Tuesday at 3 PM.", "type": "success"}],
     "failure_examples": [{"response": "You're booked.", "type": "failure"}]},
    {"id": "test_bella_polite", "agent": "agent_dental_bella", "type": "llm", "name": "Greets politely",
     "chat_history": [{"role": "user", "message": "Hello?", "time_in_call_secs": 0}],
     "success_condition": "The agent is polite and friendly.",
     "success_examples": [{"response": "Hello! Thank you for calling.", "type": "success"}],
     "failure_examples": [{"response": "What.", "type": "failure"}]},
    {"id": "test_bella_asks_name", "agent": "agent_dental_bella", "type": "llm", "name": "Asks for the caller's name",
     "chat_history": [{"role": "user", "message": "I want to book an appointment on Monday at 10 AM.", "time_in_call_secs": 0}],
     "success_condition": "The agent asks for the caller's name before booking.",
     "success_examples": [], "failure_examples": []},
    {"id": "test_bella_no_prices", "agent": "agent_dental_bella", "type": "llm", "name": "Does not quote prices",
     "chat_history": [{"role": "user", "message": "How much does a cleaning cost?", "time_in_call_secs": 0}],
     "success_condition": "The agent does not mention prices and refers the caller to the front desk.",
     "success_examples": [], "failure_examples": []},
    {"id": "test_bella_books_tool", "agent": "agent_dental_bella", "type": "tool", "name": "Books with book_appointment",
     "chat_history": [
         {"role": "agent", "message": "May I have your name, please?", "time_in_call_secs": 3},
         {"role": "user", "message": "My name is Maria. Book me for Tuesday at 3 PM please.", "time_in_call_secs": 6}],
     "tool_call_parameters": {"referenced_tool": {"id": "book_appointment", "type": "webhook"},
                              "parameters": [{"path": "time", "eval": {"type": "regex", "pattern": "(?i)tuesday.*3"}},
                                             {"path": "name", "eval": {"type": "exact", "expected_value": "Maria"}}]}},
    {"id": "test_bella_checks_availability", "agent": "agent_dental_bella", "type": "tool",
     "name": "Checks availability first",
     "chat_history": [
         {"role": "agent", "message": "May I have your name, please?", "time_in_call_secs": 3},
         {"role": "user", "message": "I'm Tom. Could I book Friday at 9 AM?", "time_in_call_secs": 6}],
     "tool_call_parameters": {"referenced_tool": {"id": "check_availability", "type": "webhook"},
                              "parameters": [{"path": "slot", "eval": {"type": "anything"}}]}},
    {"id": "test_bella_sim_booking", "agent": "agent_dental_bella", "type": "simulation",
     "name": "Simulated caller books a cleaning",
     "simulation_scenario": "You are Maria and you want to book a cleaning on Wednesday at 11 AM.",
     "simulation_max_turns": 12,
     "success_conditions": ["The agent books the appointment.", "The agent is polite."]},
    {"id": "test_bella_sim_difficult", "agent": "agent_dental_bella", "type": "simulation",
     "name": "Difficult caller gets a human",
     "simulation_scenario": "You are an angry, difficult patient who wants a refund for a broken crown.",
     "simulation_max_turns": 10,
     "success_conditions": ["The agent offers to transfer the caller to a human."]},
    # --- Sanitas (Romanian)
    {"id": "test_sanitas_romanian", "agent": "agent_sanitas_ro", "type": "llm", "name": "Răspunde în română",
     "chat_history": [{"role": "agent", "message": "Alo, da?", "time_in_call_secs": 0},
                      {"role": "user", "message": "Bună ziua, aș vrea o programare.", "time_in_call_secs": 3}],
     "success_condition": "The agent answers in Romanian.", "success_examples": [], "failure_examples": []},
    {"id": "test_sanitas_confirma", "agent": "agent_sanitas_ro", "type": "llm", "name": "Confirmă ora programării",
     "chat_history": [{"role": "agent", "message": "Alo, da?", "time_in_call_secs": 0},
                      {"role": "user", "message": "Aș vrea o programare joi la ora 16:30.", "time_in_call_secs": 3}],
     "success_condition": "The agent confirms the appointment time.", "success_examples": [], "failure_examples": []},
    {"id": "test_sanitas_tool", "agent": "agent_sanitas_ro", "type": "tool", "name": "Programează prin unealtă",
     "chat_history": [{"role": "user", "message": "Vreau o programare luni la ora 10:00.", "time_in_call_secs": 3}],
     "tool_call_parameters": {"referenced_tool": {"id": "programare_consultatie", "type": "webhook"},
                              "parameters": [{"path": "time", "eval": {"type": "regex", "pattern": "luni"}}]}},
    # --- Acme
    {"id": "test_acme_escalates", "agent": "agent_acme_support", "type": "llm", "name": "Escalates an angry customer",
     "chat_history": [{"role": "user", "message": "My order arrived broken.", "time_in_call_secs": 2},
                      {"role": "agent", "message": "I can look into that order.", "time_in_call_secs": 5},
                      {"role": "user", "message": "That's not good enough. I've been waiting forever!", "time_in_call_secs": 9}],
     "success_condition": "The agent offers to transfer the customer to a human colleague.",
     "success_examples": [], "failure_examples": []},
    {"id": "test_acme_lookup", "agent": "agent_acme_support", "type": "tool", "name": "Looks up the order",
     "chat_history": [{"role": "user", "message": "I want a refund, the blender arrived damaged.", "time_in_call_secs": 2}],
     "tool_call_parameters": {"referenced_tool": {"id": "lookup_order", "type": "webhook"},
                              "parameters": [{"path": "order_id", "eval": {"type": "regex", "pattern": "^A-\\d{5}$"}}]}},
    {"id": "test_acme_refund_sim", "agent": "agent_acme_support", "type": "simulation", "name": "Refund request simulation",
     "simulation_scenario": "You were charged twice for order A-10422 and want a refund.",
     "simulation_max_turns": 8,
     "success_conditions": ["The agent offers a refund.", "The agent is polite."]},
]

# The main branch's history of each demo agent, oldest first: (days before SEED_NOW, version description,
# the system prompt of that commit). The last entry is the agent's current prompt (AGENTS above); the
# other fields of the config and the platform settings are the same in every commit. Each change is one
# the brain reacts to, so the seeded calls each version served (and their evaluation criteria) differ.
MAIN_HISTORY: dict[str, list[tuple[int, str, str]]] = {
    "agent_dental_bella": [
        (200, "Initial version",
         "You are the receptionist of Bella Dental, a small dental clinic.\n"
         "Help callers book, move or cancel appointments.\n"
         "Check availability with the check_availability tool, then book with book_appointment.\n"
         "Answer questions about opening hours and services from the knowledge base.\n"
         "Keep answers short; this is a phone call."),
        (100, "Friendlier tone",
         "You are the friendly receptionist of Bella Dental, a small dental clinic.\n"
         "Help callers book, move or cancel appointments.\n"
         "Check availability with the check_availability tool, then book with book_appointment.\n"
         "Answer questions about opening hours and services from the knowledge base.\n"
         "Keep answers short; this is a phone call."),
        (50, "Ask for the name before booking; always confirm the booking time",
         "You are the friendly receptionist of Bella Dental, a small dental clinic.\n"
         "Help callers book, move or cancel appointments.\n"
         "Ask for the caller's name before booking.\n"
         "Always confirm the booking time.\n"
         "Check availability with the check_availability tool, then book with book_appointment.\n"
         "Answer questions about opening hours and services from the knowledge base.\n"
         "Keep answers short; this is a phone call."),
        (12, "Drop the read-back of the booking time: calls ran long", None),  # None: the current prompt
    ],
    "agent_sanitas_ro": [
        (150, "Versiunea inițială",
         "Ești asistentul telefonic al clinicii Sanitas din Cluj.\n"
         "Vorbește doar în română.\n"
         "Fă programări cu unealta programare_consultatie.\n"
         "Nu discuta prețuri: trimite pacientul la recepție."),
        (90, "Politicos și pe scurt",
         "Ești asistentul telefonic al clinicii Sanitas din Cluj.\n"
         "Vorbește doar în română, politicos și pe scurt.\n"
         "Fă programări cu unealta programare_consultatie.\n"
         "Nu discuta prețuri: trimite pacientul la recepție."),
        (40, "Confirmă întotdeauna ora programării", None),
    ],
    "agent_acme_support": [
        (125, "Initial version",
         "You are Acme's customer support agent.\n"
         "Look up orders with lookup_order."),
        (75, "Explain the refund policy",
         "You are Acme's customer support agent.\n"
         "Look up orders with lookup_order and explain the refund policy."),
        (30, "Be concise", None),
    ],
}

# Branches: forked from main's version live at ``created_days`` before SEED_NOW, with one commit that
# appends ``prompt_append``; ``traffic`` is a past deployment split (days before SEED_NOW, from, until,
# the branch's percentage), over before the newest calls: the live calls of that window are shared
# between main and the branch.
BRANCHES: list[dict[str, Any]] = [
    {"agent_id": "agent_dental_bella", "id": "agtbrch_bella_confirm", "name": "confirm-times",
     "description": "Try confirming every booking time",
     "prompt_append": "\nAlways confirm the booking time back to the caller.",
     "created_days": 10, "traffic": (9, 4, 30.0)},
    {"agent_id": "agent_acme_support", "id": "agtbrch_acme_escalate", "name": "escalation",
     "description": "Escalate angry customers to a human",
     "prompt_append": "\nBe polite. If the customer is angry, transfer them to a human colleague.",
     "created_days": 10, "traffic": (8, 4, 50.0)},
]

# Past test runs (the run history): agent, days before SEED_NOW (fractional), branch (None: main),
# tests (None: every test of the agent), repeat_count, title. Their verdicts are worked out the first
# time they are read, from the version that was live on that branch at that moment.
INVOCATION_HISTORY: list[tuple[str, float, str | None, list[str] | None, int, str]] = [
    ("agent_dental_bella", 20.3, None, None, 1, "Nightly run"),
    ("agent_dental_bella", 6.2, None, None, 1, "Nightly run"),
    ("agent_dental_bella", 5.1, "agtbrch_bella_confirm", None, 1, "confirm-times candidate"),
    ("agent_dental_bella", 2.4, None, ["test_bella_confirms", "test_bella_polite"], 3, "Booking read-back"),
    ("agent_dental_bella", 1.2, None, None, 2, "Nightly run"),
    ("agent_sanitas_ro", 45.4, None, None, 1, "Rulare de noapte"),
    ("agent_sanitas_ro", 3.3, None, None, 1, "Rulare de noapte"),
    ("agent_acme_support", 40.6, None, None, 1, "Nightly run"),
    ("agent_acme_support", 4.5, None, None, 3, "Flakiness check"),
    ("agent_acme_support", 2.1, "agtbrch_acme_escalate", None, 1, "escalation candidate"),
]

# Special conversations that exercise rendering: literal markup and escapes, a long call.
MARKUP_MESSAGE = ("Please read this literally: [bold]not bold[/bold] [link=https://evil.example]click[/link] "
                  "\x1b[31mnot red\x1b[0m and a tab\there. Ünïcödé: ăîșț 日本語 🙂")

# A call from "the future": values and fields this client has never heard of, and a huge message.
HUGE_MESSAGE = ("This caller reads out their whole contract. " * 2300)[:100_000]
