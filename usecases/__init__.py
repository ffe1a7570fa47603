"""What a person asks of the product, callable without a request: the web app's views and the
command line parse their input, call one of these, and present what comes back.

- :mod:`usecases.explain_outfit`: grade an outfit and say which item and property pull it down;
- :mod:`usecases.recommend_outfits`: the best outfits of the closet, each with its reason;
- :mod:`usecases.add_photos`: store uploaded photos, then tag them;
- :mod:`usecases.tag_photos`: tag photos (category, colour, pattern) and keep their masks;
- :mod:`usecases.manage_models`: the models, datasets and diagnostics of an instance, and the
  jobs that train, evaluate and diagnose them (:mod:`usecases.jobs` runs those in the
  background);
- :mod:`usecases.wear_log`: log what was worn, thumbs up and down, the feedback export;
- :mod:`usecases.demo`: set up the demo instance;
- :mod:`usecases.services`: what one app holds for its whole life (the closet's store, the
  active model, the job manager).
"""
