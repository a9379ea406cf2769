"""Leave-generator-out protocol: which generators and people a model never trains on.

A detector is judged only on what it never saw. This module is the one definition of that
split, shared by `train` (which drops the held-out part) and `evaluate --protocol` (which
keeps only it):

- every generator belongs to a **family** (`FAMILIES`: lip-sync, talking head, reenactment,
  face swap, GAN face, diffusion face, GAN edit / inversion);
- `HELDOUT_GENERATORS` is a fixed set covering every family, well over 30 % of the
  generators we have data for; their fakes are never trained on;
- real people are split by identity: a seeded hash puts `HELDOUT_IDENTITY_FRACTION` of the
  identity groups aside, and so does every identity that appears in a held-out generator's
  output (its real inputs are then evaluated beside its fakes, never trained on);
- one person is on one side under every name: `same_people.csv` joins the identity groups
  whose real faces are one person (or one public photo or clip gathered from several
  repositories under several names; scripts/same_people.py found them by face descriptor),
  a group `person-NAME` (the gatherers' name for a well-known person) is the person `NAME`
  (earlier folders' name) even where one of them has no real face to match, and a person
  with a group on the training side is trained on under all of them (`person_of`);
- a fake of a seen generator showing a held-out person is used by neither side, and so is a
  held-out generator's fake of a person a shipped model trained on (`TRAINED_IDENTITIES`);
- `EXCLUDED_SOURCES` (sources of the independent evaluation) are used by neither side.

Generator names come from the data's own `method` (the `generator` column of `wild/`); the
`dev/` labels name methods in prose, so `canonical_generator` maps them through `ALIASES`.
"""

from __future__ import annotations

import csv
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

import numpy as np

from deepfake_analyzer.report.reliability import (
    RATES_KEY,
    REAL_AT_FAKE_INTERVAL_KEY,
    THRESHOLD_KEYS,
    VerdictRates,
    within,
)
from deepfake_analyzer.training.bootstrap import Interval, auc_interval, share_interval
from deepfake_analyzer.training.metrics import json_fields, json_number, thresholds_read
from deepfake_analyzer.training.sources import FAKE, REAL, LabeledItem

LIP_SYNC = "lip-sync"
TALKING_HEAD = "talking-head"
REENACTMENT = "reenactment"
FACE_SWAP = "face-swap"
GAN_FACE = "gan-face"
DIFFUSION_FACE = "diffusion-face"
GAN_EDIT = "gan-edit"
OTHER = "other"

FAMILIES: dict[str, str] = {
    "wav2lip": LIP_SYNC,
    "wav2lip-384-sam": LIP_SYNC,
    "hyperlips": LIP_SYNC,
    "mesh-warp-lipsync": LIP_SYNC,
    "anitalker": TALKING_HEAD,
    "atvgnet": TALKING_HEAD,
    "dreamtalk": TALKING_HEAD,
    "geneface": TALKING_HEAD,
    "kdtalker": TALKING_HEAD,
    "musev": TALKING_HEAD,
    "spatiotemporal-talkingface": TALKING_HEAD,
    "styletalk": TALKING_HEAD,
    "synctalk": TALKING_HEAD,
    "v-express": TALKING_HEAD,
    "aniportrait": TALKING_HEAD,
    "liveportrait": REENACTMENT,
    "fsrt": REENACTMENT,
    "first-order-model": REENACTMENT,
    "thin-plate-spline-motion-model": REENACTMENT,
    "roop-inswapper": FACE_SWAP,
    "inswapper": FACE_SWAP,
    "ghost": FACE_SWAP,
    "canonswap": FACE_SWAP,
    "simswap": FACE_SWAP,
    "motion-cosegmentation-partswap": FACE_SWAP,
    "landmark-faceswap": FACE_SWAP,
    "dfdc": FACE_SWAP,
    "stylegan": GAN_FACE,
    "stylegan2": GAN_FACE,
    "stylegan3": GAN_FACE,
    "progan": GAN_FACE,
    "stable-diffusion-1.5": DIFFUSION_FACE,
    "stable-diffusion-2.1": DIFFUSION_FACE,
    "psp": GAN_EDIT,
    "hyperstyle": GAN_EDIT,
    "restyle-e4e-stylegan3": GAN_EDIT,
    "attgan": GAN_EDIT,
    "stargan": GAN_EDIT,
    # gathered 2026-11-29 (docs/data/extra-2026-11-29.md)
    **dict.fromkeys(
        ("blendface", "e4s", "facefusion", "faceshifter", "megafs", "unspecified-faceswap"),
        FACE_SWAP,
    ),
    **dict.fromkeys(
        (
            "e4e",
            "e4s-faceedit",
            "fadernet",
            "hisd",
            "icgan",
            "interfacegan-pggan",
            "pti",
            "restyle",
            "restyle-e4e",
            "sam",
            "stgan",
            "styleclip",
            "stylegan2-w-plus-inversion",
        ),
        GAN_EDIT,
    ),  # fmt: skip
    **dict.fromkeys(("dagan", "mcnet", "ned"), REENACTMENT),
    **dict.fromkeys(("davs", "sda"), TALKING_HEAD),
    "flux": DIFFUSION_FACE,
    # gathered 2026-11-30 (docs/data/extra-2026-11-30.md): videos
    **dict.fromkeys(
        ("mraa", "x-portrait", "follow-your-emoji", "fadm", "face-vid2vid"), REENACTMENT
    ),
    **dict.fromkeys(("actalker", "hallo", "echomimic", "memo", "pd-fgc"), TALKING_HEAD),
    "latentsync": LIP_SYNC,
    # gathered 2026-11-30, third session (docs/data/extra-2026-11-30b.md): videos
    **dict.fromkeys(
        (
            "actavatar",
            "echomimic-v3",
            "emo",
            "er-nerf",
            "fantasytalking",
            "float",
            "hallo3",
            "hunyuanvideo-avatar",
            "jimeng",
            "loopy",
            "multitalk",
            "omniavatar",
            "sonic",
            "stableavatar",
            "vasa-1",
            "wan-s2v",
        ),
        TALKING_HEAD,
    ),  # fmt: skip
    **dict.fromkeys(("dinet", "musetalk", "omnisync", "resyncer", "stylesync"), LIP_SYNC),
    **dict.fromkeys(
        (
            "faceadapter",
            "faceswap-gan",
            "hififace",
            "hifivfs",
            "infoswap",
            "styleswap",
            "styleswap-stylesync",
        ),
        FACE_SWAP,
    ),  # fmt: skip
    "talk-act": REENACTMENT,
    # gathered 2026-11-30, eighth session (docs/data/extra-2026-11-30c.md): pairs
    **dict.fromkeys(("diff2lip", "pc-avs", "infinitetalk"), LIP_SYNC),
    **dict.fromkeys(("skyreels-a1", "runway-act-one"), REENACTMENT),
    "synctalkpp": TALKING_HEAD,
    # gathered 2026-12-01 (docs/data/extra-2026-12-01.md): images, all training generators
    **dict.fromkeys(
        (
            "ace-plus",
            "arc2face",
            "caphuman",
            "collaborative-diffusion",
            "dcface-ddpm",
            "diffae",
            "fastcomposer",
            "idiff-face",
            "ilvr",
            "instantid-sd15",
            "ip-adapter-plus-face",
            "kolors-controlnet",
            "kolors-ipadapter-faceid-plus",
            "omnigen",
            "sdxl-controlnet",
            "sdxl-ipadapter-faceid-plus",
            "storymaker",
            "uniportrait",
            "w-plus-adapter",
        ),
        DIFFUSION_FACE,
    ),  # fmt: skip
    **dict.fromkeys(
        ("aifaceswap-tool", "deepfacelab", "dlib-warp-faceswap", "fewshot-face-translation"),
        FACE_SWAP,
    ),
    **dict.fromkeys(("elegant", "hrfae", "michigan", "psgan"), GAN_EDIT),
    # gathered 2026-12-02 (docs/data/extra-2026-12-02.md): videos
    **dict.fromkeys(("diffdub", "emogen", "ip-lap", "joygen"), LIP_SYNC),
    **dict.fromkeys(
        ("dae-talker", "diffused-heads", "genefacepp", "joyhallo", "megactor-sigma"), TALKING_HEAD
    ),
    **dict.fromkeys(
        (
            "bilayer",
            "ffavatar",
            "gagavatar",
            "gan-directions-reenact",
            "gpavatar",
            "hellomeme",
            "hyperreenact",
            "icface",
            "lia-x",
            "mofa-video",
            "portrait4d-v2",
            "rome",
        ),
        REENACTMENT,
    ),  # fmt: skip
    # gathered 2026-12-02 (docs/data/extra-2026-12-02b.md): images
    **dict.fromkeys(
        (
            "cips",
            "eg3d",
            "msg-stylegan",
            "next3d",
            "nvae",
            "stylenerf",
            "stylesdf",
            "styleswin",
            "vqgan-transformer",
        ),
        GAN_FACE,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "beautygan",
            "elegant-makeup",
            "fenerf",
            "hairclip",
            "hfgi3d",
            "idinvert",
            "sean",
            "style-transformer",
            "stylefeatureeditor",
            "styleflow",
            "stylemapgan",
            "stylespace",
            "talk-to-edit",
            "tedigan",
        ),
        GAN_EDIT,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "concept-sliders",
            "dreambooth",
            "facechain",
            "flashface",
            "flux-ip-adapter",
            "hunyuandit-controlnet",
            "ic-light",
            "infiniteyou",
            "masterweaver",
            "ncsnpp-score-sde",
            "ominicontrol",
            "photomaker",
            "pulid-flux",
            "sdedit",
            "stable-hair",
            "stable-makeup",
        ),
        DIFFUSION_FACE,
    ),  # fmt: skip
    **dict.fromkeys(("heser", "reface", "uniface"), FACE_SWAP),
    **dict.fromkeys(("pirenderer", "portrait4d", "stylemask"), REENACTMENT),
    # gathered 2026-12-03 (docs/data/extra-2026-12-03.md): videos
    **dict.fromkeys(
        (
            "alignhuman",
            "avct",
            "cyberhost",
            "eamm",
            "eat",
            "gaia",
            "magicinfinite",
            "makeittalk",
            "mocha",
            "omnihuman-1",
            "omnihuman-1.5",
            "real3d-portrait",
            "skyreels-a3",
            "skyreels-audio",
            "starcaster",
        ),
        TALKING_HEAD,
    ),  # fmt: skip
    **dict.fromkeys(("anytalk", "styleheat", "toontalker", "x2face"), REENACTMENT),
    "3dfaceshop": GAN_FACE,
    # gathered 2026-12-03 (docs/data/extra-2026-12-03b.md, -03c.md): photos and face-swap videos
    **dict.fromkeys(
        (
            "barbershop",
            "ghfeat",
            "hfgi",
            "maskgan",
            "nerffaceediting",
            "spade",
            "stylegan-encoder-edit",
        ),
        GAN_EDIT,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "afs-faceswap",
            "deepfakes-autoencoder",
            "diffswap",
            "dreamid-v",
            "fsgan",
            "fuseanypart",
            "vividface",
        ),
        FACE_SWAP,
    ),  # fmt: skip
    **dict.fromkeys(("diffusionclip", "easyphoto"), DIFFUSION_FACE),
    # gathered 2026-12-06 (docs/data/extra-2026-12-06.md to -06e.md): 77 new methods, 20 held out
    **dict.fromkeys(
        (
            "3dswap",
            "deepswap-ai",
            "dreamid",
            "faceoff",
            "hyperswap",
            "photoswap",
            "reswapper",
        ),
        FACE_SWAP,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "agetransgan",
            "beautyrec",
            "caae",
            "cpm",
            "csd-mt",
            "deepfaceediting",
            "dpr",
            "e2style",
            "e3dge",
            "ganmut",
            "gazeanimation",
            "geomconsistentfr",
            "hyperinverter",
            "ipcgan",
            "ladn",
            "lats",
            "pa-gan",
            "relgan",
            "rotate-and-render",
            "sc-fegan",
            "sg-gan",
            "shmt",
            "sketchhairsalon",
            "ssat-plus",
            "take-off-eyeglasses",
        ),
        GAN_EDIT,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "anifacegan",
            "animatable-portrait-gan",
            "gghead",
            "gram",
            "gram-hd",
        ),
        GAN_FACE,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "edityourself",
            "heygen",
            "just-dub-it",
            "keysync",
            "talklip",
        ),
        LIP_SYNC,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "avat3r",
            "cvthead",
            "diffusionavatars",
            "dreamactor-m1",
            "factorportrait",
            "few-shot-talking-heads",
            "flashavatar",
            "gaf-avatar",
            "gaussianavatars",
            "gdpw",
            "insta",
            "joker-3dhead",
            "mofanerf",
            "morphable-diffusion",
            "mrfa",
            "npga",
            "synergize-motion-appearance",
            "voodoo3d",
        ),
        REENACTMENT,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "dim-listener",
            "ditalker",
            "elp",
            "gaussianspeech",
            "hallo2",
            "joyavatar",
            "joyvasa",
            "keyface",
            "l2l",
            "laughing-matters",
            "moda",
            "rlhg",
            "syncanimation",
            "synchrorama",
            "text2lip",
            "vlogger",
            "vqtalker",
        ),
        TALKING_HEAD,
    ),  # fmt: skip
    # gathered 2026-12-07 (docs/data/extra-2026-12-07.md to -07d.md)
    **dict.fromkeys(
        (
            "chatanyone",
            "discohead",
            "ditto",
            "emoportraits",
            "evp",
            "infp",
            "instructavatar",
            "moditalker",
            "playing-for-you",
            "playmate",
            "speakervid-5m-baseline",
            "vividtalk",
        ),
        TALKING_HEAD,
    ),  # fmt: skip
    **dict.fromkeys(
        ("cap4d", "hunyuanportrait", "megaportraits", "pointavatar"),
        REENACTMENT,
    ),  # fmt: skip
    "mytalk": LIP_SYNC,
    **dict.fromkeys(("deepprivacy", "swaptalk"), FACE_SWAP),
    **dict.fromkeys(
        (
            "deepfacedrawing",
            "discofacegan",
            "gan-control",
            "semanticstylegan",
            "stylenat",
            "vec2face",
            "volumegan",
        ),
        GAN_FACE,
    ),  # fmt: skip
    **dict.fromkeys(("falco", "mystyle", "transeditor"), GAN_EDIT),
    **dict.fromkeys(
        (
            "ecomid",
            "face2diffusion",
            "hyperlora",
            "id-aligner",
            "infinite-id",
            "magicface",
            "omg",
            "rectifid",
            "subject-diffusion",
            "withanyone",
            "xverse",
        ),
        DIFFUSION_FACE,
    ),  # fmt: skip
    # gathered in the forty-second session, 2026-12-07 (docs/data/extra-2026-12-07e.md to -07k.md)
    **dict.fromkeys(
        ("jolt3d", "lipgan", "livedub", "obamanet", "stabledub", "syncanyone", "unit2lip"),
        LIP_SYNC,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "consistentavatar",
            "emospeaker",
            "fada",
            "gaussianemotalker",
            "nerffacespeech",
            "talking-heads-acmmm22",
        ),
        TALKING_HEAD,
    ),  # fmt: skip
    **dict.fromkeys(
        (
            "fantasyportrait",
            "fhavatar",
            "goha",
            "heteroavatar",
            "lam",
            "nha",
            "nir-head",
            "osfr",
            "reenactgan",
        ),
        REENACTMENT,
    ),  # fmt: skip
    **dict.fromkeys(
        ("cscs", "face-anon-simple", "ghost2-headswap", "implicit-deepfake", "stand-in"),
        FACE_SWAP,
    ),  # fmt: skip
    **dict.fromkeys(("eqgan-sa", "gmnr", "insgen", "mvcgan"), GAN_FACE),
    **dict.fromkeys(
        (
            "difareli",
            "dystyle",
            "expression-manipulator",
            "fran-reaging",
            "hairclipv2",
            "hairmapper",
            "mytimemachine",
            "pdae",
            "sdic",
            "shadow-mask-face-relighting",
            "vividhairstyler",
        ),
        GAN_EDIT,
    ),  # fmt: skip
    **dict.fromkeys(("dall-e-3", "e4t", "id-booth", "profusion", "sdxl", "umo"), DIFFUSION_FACE),
    # gathered in the forty-fourth session (docs/data/extra-2026-12-08*.md)
    **dict.fromkeys(("loho", "padinv", "stit", "targetclip", "videoeditgan"), GAN_EDIT),
    **dict.fromkeys(("cfdi-gan", "deidgan", "face-identity-transformer", "nullface"), FACE_SWAP),
    "sd-gfa": GAN_FACE,
    **dict.fromkeys(
        (
            "aging-multiverse",
            "consisid",
            "disc-face",
            "fantasy-id",
            "id-animator",
            "lynx",
            "selfage",
            "tinybeauty-dda",
            "uniid",
        ),
        DIFFUSION_FACE,
    ),  # fmt: skip
    # the forty-fourth session's second round (docs/data/extra-2026-12-08d.md to -08f.md)
    **dict.fromkeys(("ballgan", "gan-stability-r1", "tt-gnerf"), GAN_FACE),
    **dict.fromkeys(("adatrans", "dmfn", "ganimation", "pag-gan", "retouchml"), GAN_EDIT),
    "live-speech-portraits": TALKING_HEAD,
    **dict.fromkeys(("deep-video-portraits", "nerface", "sg3-landmark-reenact"), REENACTMENT),
    "neural-voice-puppetry": LIP_SYNC,
    # the forty-fifth session's round (docs/data/extra-2026-12-08g.md to -08i.md)
    **dict.fromkeys(("aot-gan", "comodgan", "ganspace", "gmcnn", "pen-net", "sefa"), GAN_EDIT),
    **dict.fromkeys(("deepprivacy2", "ldfa", "reverse-personalization", "riddle"), FACE_SWAP),
    **dict.fromkeys(("panohead", "spherehead", "surf-gan"), GAN_FACE),
    **dict.fromkeys(("boundarydiffusion", "cyclediff", "fineface"), DIFFUSION_FACE),
    # its second round (docs/data/extra-2026-12-08j.md to -08l.md)
    **dict.fromkeys(("age-prog-spatial-attn", "fnm", "scgan-makeup"), GAN_EDIT),
    **dict.fromkeys(
        ("freenet", "havatar", "latentavatar", "oneshot-landmark-stylegan-reenact"), REENACTMENT
    ),
    **dict.fromkeys(
        (
            "ad-nerf",
            "dfrf",
            "difftalk",
            "hhnerf",
            "instag",
            "pmfs",
            "rad-nerf",
            "spear",
            "talkinggaussian",
        ),
        TALKING_HEAD,
    ),
}

HELDOUT_GENERATORS: frozenset[str] = frozenset(
    {
        "hyperlips",
        "mesh-warp-lipsync",
        "anitalker",
        "musev",
        "styletalk",
        "synctalk",
        "liveportrait",
        "thin-plate-spline-motion-model",
        "ghost",
        "canonswap",
        "simswap",
        "stylegan2",
        "stable-diffusion-2.1",
        "psp",
        "stargan",
        # of the generators gathered on 2026-11-29 (no model before v6 saw any of them), those
        # whose people no earlier model trained on either
        "faceshifter",
        "megafs",
        "interfacegan-pggan",
        "pti",
        "stgan",
        "mcnet",
        # of the video generators gathered on 2026-11-30 (no model before v8 saw any of them),
        # those whose every clip shows a person already held out: evaluated, never wasted
        "x-portrait",
        "follow-your-emoji",
        "pd-fgc",
        "fadm",
        "face-vid2vid",
        # of the video generators gathered in the third 2026-11-30 session (no model before
        # v10 saw any of them): every one with a burned-in mark ("AIGC", a product logo, a
        # source inset), which a model could learn (loopy, emo, jimeng, vasa-1, omnisync);
        # the avatar-page methods that share its four scenes (actavatar ... wan-s2v,
        # fantasytalking); float (its page shows anitalker, echomimic and hallo on the same
        # people); the face swaps of one page whose people simswap already holds out
        # (faceadapter, hififace, hifivfs, infoswap), faceswap-gan, musetalk and dinet
        "loopy",
        "emo",
        "jimeng",
        "vasa-1",
        "omnisync",
        "actavatar",
        "echomimic-v3",
        "hallo3",
        "hunyuanvideo-avatar",
        "multitalk",
        "omniavatar",
        "stableavatar",
        "wan-s2v",
        "fantasytalking",
        "float",
        "faceadapter",
        "hififace",
        "hifivfs",
        "infoswap",
        "faceswap-gan",
        "musetalk",
        "dinet",
        # of the generators gathered in the eighth 2026-11-30 session (no model before v18
        # saw any of them): synctalkpp (synctalk's successor, held out with it), and
        # skyreels-a1 and infinitetalk, whose clips mostly show people no other file does;
        # diff2lip, pc-avs and runway-act-one train (diff2lip and pc-avs beside their
        # VoxCeleb2 sources: the pairs `train --paired-share` draws)
        "synctalkpp",
        "skyreels-a1",
        "infinitetalk",
        # of the generators gathered on 2026-12-02 (no model before v7 saw any of them): the
        # StyleGAN2-based editors, so no StyleGAN2 texture reaches training through them
        # (styleflow ... stylemask); one to three of each family besides (styleswin, stylenerf,
        # infiniteyou, flashface, heser; diffused-heads, joygen, and rome with bilayer, whose
        # comparison grid shows the same people)
        "styleflow",
        "style-transformer",
        "hairclip",
        "stylespace",
        "stylemapgan",
        "talk-to-edit",
        "stylefeatureeditor",
        "stylemask",
        "styleswin",
        "stylenerf",
        "infiniteyou",
        "flashface",
        "heser",
        "diffused-heads",
        "joygen",
        "rome",
        "bilayer",
        # of the generators gathered on 2026-12-03, which no shipped model saw: the rest of
        # the SkyReels line (skyreels-a1 is held out), both OmniHuman versions, and mocha,
        # gaia, styleheat and x2face: talking heads and reenactment, the video families the
        # analyzer reads worst
        "skyreels-audio",
        "skyreels-a3",
        "omnihuman-1",
        "omnihuman-1.5",
        "mocha",
        "gaia",
        "styleheat",
        "x2face",
        # of the photo generators gathered later on 2026-12-03: the new StyleGAN2-based names,
        # as on 2026-12-02 (the editors hfgi and barbershop, and afs-faceswap's e4e codes)
        "hfgi",
        "barbershop",
        "afs-faceswap",
        # of the 77 names gathered on 2026-12-06 (no shipped model saw any of them), 20 across
        # every family, so that held-out generators stay over 30 % of all
        "agetransgan",
        "beautyrec",
        "dpr",
        "e2style",
        "rotate-and-render",
        "ssat-plus",
        "3dswap",
        "faceoff",
        "reswapper",
        "cvthead",
        "gaf-avatar",
        "morphable-diffusion",
        "voodoo3d",
        "anifacegan",
        "gghead",
        "ditalker",
        "joyavatar",
        "moda",
        "vqtalker",
        "keysync",
        # of the 40 names gathered on 2026-12-07 (no shipped model saw any of them): in each
        # family, the third (rounded up) whose CRC-32 of the name is lowest
        "ditto",
        "playmate",
        "infp",
        "chatanyone",
        "cap4d",
        "pointavatar",
        "mytalk",
        "deepprivacy",
        "stylenat",
        "deepfacedrawing",
        "discofacegan",
        "falco",
        "rectifid",
        "id-aligner",
        "xverse",
        "infinite-id",
        # of the 48 names gathered in the forty-second session (2026-12-07): in each family the
        # third (rounded up), first the successors and copies of held-out methods (hairclipv2 of
        # hairclip; ghost2-headswap and implicit-deepfake, whose frames ghost swapped, of ghost)
        # and syncanyone (a burned-in "AI" mark), then the names whose CRC-32 is lowest
        "syncanyone",
        "livedub",
        "obamanet",
        "fada",
        "talking-heads-acmmm22",
        "reenactgan",
        "nha",
        "nir-head",
        "implicit-deepfake",
        "ghost2-headswap",
        "hairclipv2",
        "mytimemachine",
        "difareli",
        "dystyle",
        "profusion",
        "e4t",
        "insgen",
        "gmnr",
        # of the 19 names gathered in the forty-fourth session (2026-12-08): in each family the
        # third (rounded up) whose CRC-32 of the name is lowest (no successor of a held-out one)
        "targetclip",
        "loho",
        "deidgan",
        "nullface",
        "sd-gfa",
        "selfage",
        "fantasy-id",
        "consisid",
        # of the 13 names of its second round: the same rule
        "tt-gnerf",
        "dmfn",
        "pag-gan",
        "live-speech-portraits",
        "deep-video-portraits",
        "neural-voice-puppetry",
        # of the 16 names of the forty-fifth session's round: in each family the third (rounded
        # up), first the copies and successors of held-out methods (ganspace edits samples of
        # stylegan2; deepprivacy2 succeeds deepprivacy), then the names whose CRC-32 is lowest,
        # and panohead with its successor spherehead
        "ganspace",
        "sefa",
        "deepprivacy2",
        "ldfa",
        "spherehead",
        "panohead",
        "fineface",
        # of the 16 names of its second round: the same rule, with the NeRF line of the trained
        # er-nerf (ad-nerf, rad-nerf, talkinggaussian, instag) kept on the training side
        "age-prog-spatial-attn",
        "latentavatar",
        "freenet",
        "difftalk",
        "dfrf",
        "spear",
    }
)

TRAINED_IDENTITIES: frozenset[str] = frozenset(
    {"donald-trump", "fei-fei-li", "hillary-clinton", "kelly-ayotte", "taylor-swift"}
)
"""People a shipped model trained on whom a later-held-out generator also shows (v2's four;
hillary-clinton, whose photos and fakes deepfake_v30 trained on, is shown by targetclip, held
out in 2026-12-08). They stay on the training side: a held-out generator's fake of one of them
is used by neither side, so the table never scores a person a shipped model trained on."""

EXCLUDED_SOURCES: frozenset[str] = frozenset({"dfdc"})
"""Sources of the independent evaluation (DFDC): neither trained on nor judged on, fakes
(generator `dfdc`) and reals (identity group `dfdc:...`) alike."""

HELDOUT_IDENTITY_FRACTION = 0.3
PROTOCOL_SEED = 2026

# prose method names (dev/labels.csv datasets) -> generator, first match wins
ALIASES: tuple[tuple[str, str], ...] = (
    ("liveportrait", "liveportrait"),
    ("aniportrait", "aniportrait"),
    ("roop", "roop-inswapper"),
    ("dfdc", "dfdc"),
)


def canonical_generator(method: str) -> str:
    """The `FAMILIES` key of a method name: itself when known, else the first alias whose
    key it contains (case-insensitive), else the lowercased name."""
    name = method.strip().lower()
    if name in FAMILIES or name == "real":
        return name
    for needle, generator in ALIASES:
        if needle in name:
            return generator
    return name


def family_of(method: str) -> str:
    """The family of a generator (`OTHER` when unknown, `real` for reals)."""
    generator = canonical_generator(method)
    if generator == "real":
        return "real"
    return FAMILIES.get(generator, OTHER)


def is_heldout_generator(method: str) -> bool:
    return canonical_generator(method) in HELDOUT_GENERATORS


def is_excluded_source(item: LabeledItem) -> bool:
    return (
        canonical_generator(item.method) in EXCLUDED_SOURCES
        or item.group.partition(":")[0] in EXCLUDED_SOURCES
    )


SAME_PEOPLE_FILE = Path(__file__).with_name("same_people.csv")
"""Identity groups that are one person: columns group, person (one of its groups' names),
trained (`yes` when one of the person's groups lay on the training side of all the data when
the table was made: the shipped models' training side), nearest (its closest group of that
person), distance (their face descriptors' distance)."""


@cache
def _same_people_rows() -> tuple[dict[str, str], ...]:
    with SAME_PEOPLE_FILE.open(newline="") as f:
        return tuple(csv.DictReader(f))


NAMED_PERSON = "person-"
"""How gatherers name a well-known person's group (`person-barack-obama`); earlier folders
named the same people without it (`barack-obama`)."""


def _bare(group: str) -> str:
    return group.removeprefix(NAMED_PERSON)


@cache
def _same_people() -> Mapping[str, str]:
    """Group -> person: `same_people.csv`'s people, two of them joined when a group of one is
    `person-NAME` and a group of the other `NAME` (one person the descriptors kept apart), each
    person named by the first of its names in sorted order."""
    rows = _same_people_rows()
    parent = {row["person"]: row["person"] for row in rows}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    by_bare: dict[str, str] = {}
    for row in rows:
        person, bare = root(row["person"]), _bare(row["group"])
        other = root(by_bare.setdefault(bare, person))
        if other != person:
            parent[max(person, other)] = min(person, other)
    return MappingProxyType({row["group"]: root(row["person"]) for row in rows})


@cache
def _trained_people() -> frozenset[str]:
    people = _same_people()
    return frozenset(people[r["group"]] for r in _same_people_rows() if r["trained"] == "yes")


def person_of(group: str) -> str:
    """The person an identity group shows: one name for all the groups of `same_people.csv`
    that are one person and for `person-NAME` and `NAME`, else the group's name without
    `person-`."""
    people, bare = _same_people(), _bare(group)  # both spellings are one person in the table
    return people.get(bare) or people.get(NAMED_PERSON + bare) or bare


def hashed_heldout(group: str, fraction: float = HELDOUT_IDENTITY_FRACTION) -> bool:
    """A seeded, order-free coin per identity group: True for about `fraction` of groups."""
    value = zlib.crc32(f"{PROTOCOL_SEED}:{group}".encode()) / 2**32
    return value < fraction


@dataclass(frozen=True)
class ProtocolSplit:
    """Items the model may train on, items it is judged on, and items used by neither."""

    train: tuple[LabeledItem, ...]
    heldout: tuple[LabeledItem, ...]
    excluded: tuple[LabeledItem, ...]

    def heldout_groups(self) -> frozenset[str]:
        return frozenset(i.group for i in self.heldout)


def _is_heldout_fake(item: LabeledItem) -> bool:
    return item.label == FAKE and is_heldout_generator(item.method)


def split_protocol(items: Iterable[LabeledItem]) -> ProtocolSplit:
    """Split labeled items per the module's rules (pure; the same items give the same split).

    Groups are held out by name first (the hash, held-out generators' people); then a person
    with any group left on the training side (`person_of`; among `items`, or marked `trained`
    in `same_people.csv` when the folders it lay in are not given) is trained on under every name:
    its other groups leave the held-out side, their held-out generators' fakes are used by
    neither side (as `TRAINED_IDENTITIES`'), so the held-out part only ever shrinks."""
    items = list(items)
    kept = [i for i in items if not is_excluded_source(i)]
    by_name = {i.group for i in kept if hashed_heldout(i.group)}
    by_name |= {
        i.group for i in kept if _is_heldout_fake(i) and _bare(i.group) not in TRAINED_IDENTITIES
    }
    trained = set(_trained_people()) | {
        person_of(i.group) for i in kept if not _is_heldout_fake(i) and i.group not in by_name
    }
    heldout_people = {g for g in by_name if person_of(g) not in trained}
    train: list[LabeledItem] = []
    heldout: list[LabeledItem] = []
    excluded: list[LabeledItem] = []
    for item in items:
        if is_excluded_source(item):
            excluded.append(item)
        elif _is_heldout_fake(item):
            seen = _bare(item.group) in TRAINED_IDENTITIES or person_of(item.group) in trained
            (excluded if seen else heldout).append(item)
        elif item.group in heldout_people:
            (heldout if item.label == REAL else excluded).append(item)
        else:
            train.append(item)
    return ProtocolSplit(tuple(train), tuple(heldout), tuple(excluded))


def protocol_summary() -> dict[str, object]:
    """What the protocol holds out, for model cards and reports."""
    families: dict[str, list[str]] = {}
    for generator, family in FAMILIES.items():
        families.setdefault(family, []).append(generator)
    return {
        "heldout_generators": sorted(HELDOUT_GENERATORS),
        "heldout_identity_fraction": HELDOUT_IDENTITY_FRACTION,
        "trained_identities": sorted(TRAINED_IDENTITIES),
        "same_people": {
            "groups": len(_same_people()),
            "people": len(set(_same_people().values())),
        },
        "excluded_sources": sorted(EXCLUDED_SOURCES),
        "seed": PROTOCOL_SEED,
        "families": {k: sorted(v) for k, v in sorted(families.items())},
    }


# --- the leave-generator-out table --------------------------------------------------------------


class Scored(Protocol):
    """What the table reads of each scored file (e.g. `training.evaluate.VideoScore`)."""

    @property
    def label(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def method(self) -> str: ...

    @property
    def group(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def face_width(self) -> float: ...

    @property
    def raised_thresholds(self) -> tuple[float, float] | None: ...


FACE_SIZE_EDGES = (100.0, 200.0)
"""Face widths (source pixels) that split each medium's held-out files into the table's
face-size rows: under 100 px, 100-200 px, 200 px or more. On v12's table photos read AUC 0.62,
0.73 and 0.82 across them (models/deepfake_v12.md): how much a verdict is worth depends on how
many pixels the face had, and a report says so (report/reliability.py)."""
MIN_FACE_SIZE_FILES = 10
"""A face-size row needs at least this many held-out reals and fakes of that size."""


@dataclass(frozen=True)
class ProtocolRow:
    """One row: a set of held-out fakes against the held-out reals of the same medium (of the
    same face size, in a face-size row)."""

    name: str  # "video", "image", "<kind>/<family>", "<kind>/<generator>", "<kind>/faces ..."
    by: str  # "medium", "family", "generator" or "face_size"
    kind: str
    num_real: int
    num_fake: int
    auc: float
    auc_low: float  # the 95 % cluster-bootstrap interval of `auc` (training/bootstrap.py)
    auc_high: float
    mean_fake_score: float
    face_px_low: float = math.nan  # a face-size row's face widths: [low, high) source pixels
    face_px_high: float = math.nan  # NaN: unbounded

    def to_dict(self) -> dict[str, object]:
        return json_fields(self, digits=4)


@dataclass(frozen=True)
class ProtocolTable:
    """The leave-generator-out figures of one model (see `protocol_table`)."""

    rows: tuple[ProtocolRow, ...]
    fake_threshold: float
    suspicious_threshold: float
    rates: dict[str, VerdictRates]  # medium -> shares of held-out files at/above each threshold
    mean_real_score: dict[str, float]
    real_fpr_interval: dict[str, Interval] = field(default_factory=dict)
    """Medium -> `real_fpr` with its 95 % cluster-bootstrap interval (reals resampled by
    person): on a few hundred real clips of a few hundred people the share moves by several
    points with the people drawn."""

    @property
    def real_fpr(self) -> dict[str, float]:
        """Medium -> share of its held-out reals at or above `fake_threshold`."""
        return {
            k: r.real_at_fake for k, r in self.rates.items() if r.real_at_fake == r.real_at_fake
        }

    def rates_text(self) -> str:
        """The rates in words, for the tables: per medium, the shares of held-out reals and
        fakes at or above `suspicious` / `fake`."""
        suspicious, fake = self.suspicious_threshold, self.fake_threshold
        head = f"at or above suspicious {suspicious:.3f} / fake {fake:.3f}"

        def pair(a: float, b: float) -> str:
            return "-" if a != a else f"{a:.1%} / {b:.1%}"

        def spread(kind: str) -> str:
            i = self.real_fpr_interval.get(kind)
            return "" if i is None or i.low != i.low else f" (95 %: {i.low:.1%}-{i.high:.1%})"

        parts = [
            f"{kind}: reals {pair(r.real_at_suspicious, r.real_at_fake)}{spread(kind)}, "
            f"fakes {pair(r.fake_at_suspicious, r.fake_at_fake)}"
            for kind, r in self.rates.items()
        ]
        return f"{head}: {'; '.join(parts)}"

    def row(self, name: str) -> ProtocolRow | None:
        return next((r for r in self.rows if r.name == name), None)

    def worst_family(self) -> ProtocolRow | None:
        families = [r for r in self.rows if r.by == "family" and r.auc == r.auc]
        return min(families, key=lambda r: r.auc) if families else None

    def to_dict(self) -> dict[str, object]:
        """The table as JSON; `report/reliability.py` reads the thresholds and rates back."""
        return {
            "protocol": protocol_summary(),
            THRESHOLD_KEYS["fake"]: self.fake_threshold,
            THRESHOLD_KEYS["suspicious"]: self.suspicious_threshold,
            "real_fpr_at_fake": {k: json_number(v, 4) for k, v in self.real_fpr.items()},
            REAL_AT_FAKE_INTERVAL_KEY: {
                k: [json_number(i.low, 4), json_number(i.high, 4)]
                for k, i in self.real_fpr_interval.items()
            },
            RATES_KEY: {k: json_fields(r, digits=4) for k, r in self.rates.items()},
            "mean_real_score": {k: json_number(v, 4) for k, v in self.mean_real_score.items()},
            "rows": [r.to_dict() for r in self.rows],
        }


def protocol_table(
    scored: Sequence[Scored], fake_threshold: float, suspicious_threshold: float
) -> ProtocolTable:
    """AUC of held-out fakes vs held-out reals of the same medium: all fakes, per family,
    per generator; and per medium the shares of held-out reals and fakes at or above each
    verdict threshold. Each AUC has a cluster-bootstrap interval (`fake_clusters`).

    `scored` is one score per file (a video's aggregated score, an image's crop score), of
    held-out files only (`split_protocol(...).heldout`): the caller is responsible for that.
    """
    rows: list[ProtocolRow] = []
    rates: dict[str, VerdictRates] = {}
    mean_real: dict[str, float] = {}
    fpr_interval: dict[str, Interval] = {}
    for kind in ("video", "image"):
        reals = [s for s in scored if s.kind == kind and s.label == REAL]
        fakes = [s for s in scored if s.kind == kind and s.label == FAKE]
        if reals:
            mean_real[kind] = float(np.mean([s.score for s in reals]))
            fpr_interval[kind] = share_interval(
                reached(reals, fake_threshold, "fake"), [s.group for s in reals]
            )
        if reals or fakes:
            rates[kind] = VerdictRates(
                real_at_suspicious=_share(reals, suspicious_threshold, "suspicious"),
                real_at_fake=_share(reals, fake_threshold, "fake"),
                fake_at_suspicious=_share(fakes, suspicious_threshold, "suspicious"),
                fake_at_fake=_share(fakes, fake_threshold, "fake"),
            )
        if not fakes:
            continue
        rows.append(_row(kind, "medium", kind, reals, fakes))
        for family in sorted({family_of(s.method) for s in fakes}):
            chosen = [s for s in fakes if family_of(s.method) == family]
            rows.append(_row(f"{kind}/{family}", "family", kind, reals, chosen))
        for generator in sorted({canonical_generator(s.method) for s in fakes}):
            chosen = [s for s in fakes if canonical_generator(s.method) == generator]
            rows.append(_row(f"{kind}/{generator}", "generator", kind, reals, chosen))
        rows.extend(_face_size_rows(kind, reals, fakes))
    return ProtocolTable(
        tuple(rows), float(fake_threshold), float(suspicious_threshold), rates, mean_real,
        fpr_interval,
    )  # fmt: skip


def face_size_bins() -> list[tuple[float, float, str]]:
    """`FACE_SIZE_EDGES` as bins: (low, high, words), NaN for an open end; `words` ends a
    row's name ("faces under 100 px")."""
    edges = (math.nan, *FACE_SIZE_EDGES, math.nan)
    return [
        (low, high,
         f"faces under {high:.0f} px" if math.isnan(low)
         else f"faces {low:.0f} px or more" if math.isnan(high)
         else f"faces {low:.0f}-{high:.0f} px")
        for low, high in zip(edges[:-1], edges[1:], strict=True)
    ]  # fmt: skip


def _face_size_rows(kind: str, reals: list[Scored], fakes: list[Scored]) -> list[ProtocolRow]:
    """One row per `face_size_bins` bin holding `MIN_FACE_SIZE_FILES` reals and fakes: the
    fakes of that face size against the reals of that face size."""
    rows = []
    for low, high, words in face_size_bins():
        real_bin = [s for s in reals if within(s.face_width, low, high)]
        fake_bin = [s for s in fakes if within(s.face_width, low, high)]
        if min(len(real_bin), len(fake_bin)) < MIN_FACE_SIZE_FILES:
            continue
        row = _row(f"{kind}/{words}", "face_size", kind, real_bin, fake_bin)
        rows.append(replace(row, face_px_low=low, face_px_high=high))
    return rows


def reached(files: Sequence[Scored], threshold: float, name: str) -> np.ndarray:
    """Per file, whether its verdict reached the threshold `name`: scoring at or above it, or
    above its raised form (`metrics.thresholds_read`) where the verdict weighed several faces."""
    scores = np.array([s.score for s in files], dtype=np.float64)
    hit: np.ndarray = scores >= thresholds_read(
        [s.raised_thresholds for s in files], threshold, name
    )
    return hit


def _share(files: Sequence[Scored], threshold: float, name: str) -> float:
    """The share of `files` whose verdict reached the threshold `name` (`reached`; NaN for no
    files)."""
    return float(np.mean(reached(files, threshold, name))) if len(files) else math.nan


def fake_clusters(fakes: Sequence[Scored]) -> list[str]:
    """What a bootstrap resamples fakes by: their generator when they come from several (a
    new draw of generators is the question), else their identity group."""
    generators = [canonical_generator(s.method) for s in fakes]
    return generators if len(set(generators)) > 1 else [s.group for s in fakes]


def _row(name: str, by: str, kind: str, reals: list[Scored], fakes: list[Scored]) -> ProtocolRow:
    auc = auc_interval(
        [s.score for s in reals], [s.group for s in reals],
        [s.score for s in fakes], fake_clusters(fakes),
    )  # fmt: skip
    mean = float(np.mean([s.score for s in fakes])) if fakes else math.nan
    return ProtocolRow(name, by, kind, len(reals), len(fakes), auc.value, auc.low, auc.high, mean)
