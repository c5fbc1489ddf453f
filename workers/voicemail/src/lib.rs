//! recueil-voicemail
