import os
import stripe

stripe.api_key = os.environ["STRIPE_KEY"]
PUBLISHABLE = "pk_live_4eC39HqLyjWDarjtT1zdp7dc"
