# The help centre (/help): the words around the articles. The articles themselves are
# Markdown files in help/en/ and help/es/.
help-index-title = Help center
help-index-heading = Help center
help-index-intro = Answers about your account, your phone and staying safe.
help-index-topics = Help topics
help-breadcrumb-label = Breadcrumb
help-breadcrumb-home = Help center
help-more-heading = Still need help?
help-more-contact = Contact support
help-more-topics = See all help topics
help-contact-heading = Talk to support
help-contact-phone = Phone:
help-contact-hours = Hours:
help-contact-form = Send us a message
# Units for the numbers the articles quote from the settings.
help-unit-seconds = { $count ->
    [one] 1 second
   *[other] { $count } seconds
}
help-unit-minutes = { $count ->
    [one] 1 minute
   *[other] { $count } minutes
}
help-unit-hours = { $count ->
    [one] 1 hour
   *[other] { $count } hours
}
help-unit-days = { $count ->
    [one] 1 day
   *[other] { $count } days
}
