"""Enrolment reporting: daily snapshots of each compound's enrolment figures (coverage over
time) and the web tokens that open the admin dashboard. Plain data, services and the ports
storage implements; the figures themselves are verification's (``EnrolmentFigures``)."""
