"""Stand-ins for what the tests cannot start for real: WeChat's API, Rasa's agent behind a channel."""
