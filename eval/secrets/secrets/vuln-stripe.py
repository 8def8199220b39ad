import stripe

stripe.api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dcR2xQ"
