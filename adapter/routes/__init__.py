"""HTTP routes: thin handlers from request to translation to upstream and back."""
